package corpus

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Result is what the table shows of one source.
type Result struct {
	Name    string        `json:"name"`
	Version string        `json:"version"`
	Build   time.Duration `json:"build_ns"`
	// Outcome: match, version-only, differ, build-failed, timeout, error,
	// not-served.
	Outcome string   `json:"outcome"`
	Lines   []string `json:"differences,omitempty"`
	// Built says pkgbox built it; Match and Total count its binary packages.
	Built bool `json:"built"`
	Match int  `json:"binaries_match"`
	Total int  `json:"binaries"`
}

func fmtDuration(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return d.Round(time.Second).String()
}

// continuation indents a result's further lines under its first one.
const continuation = 32 + 1 + 26 + 1 + 8 + 2 + 13 + 1

// formatTable is the table of all results and the summary line.
func formatTable(rs []Result) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("\n%-32s %-26s %8s  %-13s %s\n", "package", "version", "build", "result", "differences")
	var built, tried, match, total int
	var unserved []string
	for _, r := range rs {
		if r.Outcome == "not-served" {
			unserved = append(unserved, r.Name)
		} else {
			tried++
		}
		if r.Built {
			built++
			match += r.Match
			total += r.Total
		}
		first := ""
		if len(r.Lines) > 0 {
			first = r.Lines[0]
		}
		row := fmt.Sprintf("%-32s %-26s %8s  %-13s %s", r.Name, r.Version, fmtDuration(r.Build), r.Outcome, first)
		w("%s\n", strings.TrimRight(row, " "))
		for _, l := range r.Lines[min(1, len(r.Lines)):] {
			w("%s%s\n", strings.Repeat(" ", continuation), l)
		}
	}
	w("corpus: %d/%d built, %d/%d binaries match", built, tried, match, total)
	if len(unserved) > 0 {
		w(" (%d more not served by the mirror, not counted: %s)", len(unserved), strings.Join(unserved, ", "))
	}
	w("\n")
	return b.String()
}

// causePatterns find the line of a build log that says why a build failed,
// most telling first.
var causePatterns = []*regexp.Regexp{
	regexp.MustCompile(`^dpkg: error processing package `),
	regexp.MustCompile(`^E: (Unable to|Unmet|The following|Package)`),
	regexp.MustCompile(`^dh_[a-z_]+: error: `),
	regexp.MustCompile(`^make(\[[0-9]+\])?: \*\*\* `),
	regexp.MustCompile(`^dpkg-(buildpackage|source|checkbuilddeps|genchanges): error: `),
	regexp.MustCompile(`^E: `),
}

// FailureCause is the line of a build log that best says why the build
// failed, or "" when none does.
func FailureCause(log string) string {
	lines := strings.Split(log, "\n")
	for _, p := range causePatterns {
		for _, l := range lines {
			if p.MatchString(l) {
				return strings.TrimSpace(l)
			}
		}
	}
	return ""
}
