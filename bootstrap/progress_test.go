package bootstrap

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

func (k Kind) testName() string {
	switch k {
	case KindProgress:
		return "P"
	case KindInfo:
		return "I"
	case KindWarning:
		return "W"
	case KindError:
		return "E"
	case KindNote:
		return "N"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// parseRecording parses a recorded fd-3 output.
func parseRecording(t *testing.T, name string) []Event {
	t.Helper()
	f, err := os.Open(recording(name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var events []Event
	if err := ParseProgress(f, func(e Event) { events = append(events, e) }); err != nil {
		t.Fatal(err)
	}
	return events
}

// compactEvents prints events one a line; runs of progress events of one
// phase are folded into their first and last, with a count, so that the
// golden stays readable while still pinning where each phase starts and ends.
func compactEvents(events []Event) string {
	var b strings.Builder
	for i := 0; i < len(events); i++ {
		e := events[i]
		if e.Kind != KindProgress {
			fmt.Fprintf(&b, "%s %s: %q\n", e.Kind.testName(), e.Name, e.Text)
			continue
		}
		j := i
		for j+1 < len(events) && events[j+1].Kind == KindProgress && events[j+1].Phase == e.Phase && events[j+1].Title == e.Title {
			j++
		}
		if j == i {
			fmt.Fprintf(&b, "P %s %q %d/%d\n", e.Phase, e.Title, e.Now, e.Total)
		} else {
			last := events[j]
			fmt.Fprintf(&b, "P %s %q %d/%d .. %d/%d (%d events)\n", e.Phase, e.Title, e.Now, e.Total, last.Now, last.Total, j-i+1)
		}
		i = j
	}
	return b.String()
}

func TestParseProgressRecordings(t *testing.T) {
	for _, name := range []string{"bookworm-minbase-cold.fd3", "bookworm-minbase-warm.fd3", "empty-mirror.fd3"} {
		t.Run(name, func(t *testing.T) {
			events := parseRecording(t, name)
			golden(t, "progress-"+strings.TrimSuffix(name, ".fd3")+".golden", compactEvents(events))
			checkProgressInvariants(t, events)
		})
	}
}

func checkProgressInvariants(t *testing.T, events []Event) {
	t.Helper()
	var last Event
	for i, e := range events {
		switch e.Kind {
		case KindProgress:
			if e.Phase == "" || e.Title == "" {
				t.Errorf("event %d: progress without phase or title: %+v", i, e)
			}
			// debootstrap reports CONFBASE as 0 of 0 when there is nothing
			// to configure; otherwise a phase has work to do.
			if e.Total <= 0 && !(e.Total == 0 && e.Now == 0) {
				t.Errorf("event %d: total %d: %+v", i, e.Total, e)
			}
			// One past the total happens at the very end (CONFREQ 89/88).
			if e.Now < 0 || e.Now > e.Total+1 {
				t.Errorf("event %d: now %d out of 0..%d+1: %+v", i, e.Now, e.Total, e)
			}
			if last.Kind == KindProgress && last.Phase == e.Phase && e.Now < last.Now {
				t.Errorf("event %d: %s went back from %d to %d", i, e.Phase, last.Now, e.Now)
			}
			last = e
		default:
			if e.Name == "" || e.Text == "" {
				t.Errorf("event %d: message without name or text: %+v", i, e)
			}
			if strings.Contains(e.Text, "%s") {
				t.Errorf("event %d: unformatted text %q", i, e.Text)
			}
		}
	}
}

func TestParseProgressEmptyMirror(t *testing.T) {
	events := parseRecording(t, "empty-mirror.fd3")
	var errs []Event
	for _, e := range events {
		if e.Kind == KindError {
			errs = append(errs, e)
		}
	}
	want := Event{Kind: KindError, Name: "NOGETREL", Text: "Failed getting release file file:///srv/empty/dists/bookworm/Release"}
	if len(errs) != 1 || errs[0] != want {
		t.Errorf("errors = %+v, want [%+v]", errs, want)
	}
	if events[len(events)-1] != want {
		t.Errorf("last event = %+v, want the error", events[len(events)-1])
	}
}

func TestParseProgressSuccess(t *testing.T) {
	for _, name := range []string{"bookworm-minbase-cold.fd3", "bookworm-minbase-warm.fd3"} {
		events := parseRecording(t, name)
		last := events[len(events)-1]
		if last.Kind != KindInfo || last.Name != "BASESUCCESS" || last.Text != "Base system installed successfully." {
			t.Errorf("%s: last event = %+v, want BASESUCCESS", name, last)
		}
		phases := map[string]bool{}
		for _, e := range events {
			if e.Kind == KindError || e.Kind == KindWarning {
				t.Errorf("%s: unexpected %+v", name, e)
			}
			phases[e.Phase] = true
		}
		for _, p := range []string{"DOWNREL", "DOWNPKGS", "SIZEDEBS", "DOWNDEBS", "EXTRACTPKGS", "CONFREQ"} {
			if !phases[p] {
				t.Errorf("%s: no %s phase", name, p)
			}
		}
	}
}

func TestParseProgressLines(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"message with args", "I: RETRIEVING\nIA: Release\nIA: \nIF: Retrieving %s %s\n",
			"I RETRIEVING: \"Retrieving Release \"\n"},
		{"message without format", "I: ARCHEXEC\n", "I ARCHEXEC: \"ARCHEXEC\"\n"},
		{"warning", "W: COULDNTDL\nWA: foo\nWF: Couldn't download package %s\n", "W COULDNTDL: \"Couldn't download package foo\"\n"},
		{"percent escapes", "I: X\nIA: a\nIF: 100%% of %s, %q\n", "I X: \"100% of a, %q\"\n"},
		{"missing args", "E: X\nEF: %s and %s\n", "E X: \" and \"\n"},
		{"args after format ignored", "I: X\nIF: done\nIA: late\n", "I X: \"done\"\n"},
		{"plain mode", "I: Retrieving InRelease \nI: Checking component main on http://mirror.example.invalid/debian...\n",
			"I RETRIEVING: \"Retrieving InRelease \"\nI CHECKING: \"Checking component main on http://mirror.example.invalid/debian...\"\n"},
		{"plain mode, one word", "I: Done.\n", "I DONE: \"Done.\"\n"},
		{"continuation", "E: X\nEF: first\nsecond line\n  third\n", "E X: \"first\\nsecond line\\n  third\"\n"},
		{"phase", "P: 0 100 DOWNREL\nPF: Downloading Release file\nP: 50 100\nP: 100 100 DOWNREL\nPF: Downloading Release file\n",
			"P DOWNREL \"Downloading Release file\" 0/100 .. 100/100 (3 events)\n"},
		{"phase with PA", "P: 1 2 X\nPA: arg\nPF: Step %s\n", "P X \"Step %s\" 1/2\n"},
		{"no PF", "P: 1 2 X\nI: NEXT\n", "P X \"\" 1/2\nI NEXT: \"NEXT\"\n"},
		{"meter before any phase", "P: 1 2\nI: A\n", "I A: \"A\"\n"},
		{"meter never goes back", "P: 0 100 DOWNDEBS\nPF: Downloading packages\nP: 40 100\nP: 10 100\nP: 60 100\nP: 100 100 DOWNDEBS\nPF: Downloading packages\n",
			"P DOWNDEBS \"Downloading packages\" 0/100 .. 100/100 (5 events)\n"},
		{"closing line never goes back", "P: 0 100 DOWNDEBS\nPF: D\nP: 100 100\nP: 0 100 DOWNDEBS\nPF: D\n", "P DOWNDEBS \"D\" 0/100 .. 100/100 (3 events)\n"},
		{"new total may restart", "P: 5 5 A\nPF: A\nP: 0 9 A\nPF: A\n", "P A \"A\" 5/5 .. 0/9 (2 events)\n"},
		{"new phase resets", "P: 80 100 A\nPF: A\nP: 5 10 B\nPF: B\n", "P A \"A\" 80/100\nP B \"B\" 5/10\n"},
		{"bad numbers", "P: x 10 A\nP: 1\nP:\n", ""},
		{"junk", "hello\n\nPF:\nIA: stray\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var events []Event
			if err := ParseProgress(strings.NewReader(tt.in), func(e Event) { events = append(events, e) }); err != nil {
				t.Fatal(err)
			}
			if got := compactEvents(events); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestParseProgressMeterValues(t *testing.T) {
	in := "P: 0 100 DOWNDEBS\nPF: Downloading packages\nP: 40 100\nP: 10 100\nP: 60 100\n"
	var nows []int64
	_ = ParseProgress(strings.NewReader(in), func(e Event) { nows = append(nows, e.Now) })
	if fmt.Sprint(nows) != "[0 40 40 60]" {
		t.Errorf("nows = %v, want [0 40 40 60]", nows)
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		f    string
		args []string
		want string
	}{
		{"plain", nil, "plain"},
		{"%s-%d", []string{"a", "1"}, "a-1"},
		{"%i %u", []string{"1", "2"}, "1 2"},
		{"%s", nil, ""},
		{"100%%", nil, "100%"},
		{"%x", []string{"a"}, "%x"},
		{"end %", nil, "end %"},
		{"%s", []string{"a", "extra"}, "a"},
	}
	for _, tt := range tests {
		if got := format(tt.f, tt.args); got != tt.want {
			t.Errorf("format(%q, %q) = %q, want %q", tt.f, tt.args, got, tt.want)
		}
	}
}
