//go:build corpus

package corpus

// The corpus driver: builds every source of the list with pkgbox, one at a
// time, fetches the archive's binary packages of the same version, compares
// them and prints one table. As root, with the mirror reachable:
//
//	go test -tags corpus -timeout 0 -v ./bench/corpus -run TestCorpus
//
// Environment:
//
//	CORPUS=hello,bc        only these sources of the list
//	CORPUS_OUT=DIR         where each source's build, archive .debs and logs go (default: a new /var/tmp/pkgbox-corpus-*)
//	CORPUS_PKGBOX=FILE     the pkgbox binary (default: built from this tree)
//	CORPUS_FETCH=MODE      pkgbox: `pkgbox build NAME=VERSION` fetches the source;
//	                       apt: the driver fetches it with apt-get source and builds the .dsc;
//	                       auto (default): pkgbox where `pkgbox build --help` offers NAME, else apt
//	CORPUS_TIMEOUT=30m     --timeout of each build
//	PKGBOX_STORE           passed on to pkgbox as always

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestCorpus(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the corpus runs pkgbox, which needs root: run go test as root")
	}
	f, err := os.Open("list")
	if err != nil {
		t.Fatal(err)
	}
	all, err := ParseList("list", f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	entries, err := Select(all, os.Getenv("CORPUS"))
	if err != nil {
		t.Fatal(err)
	}
	out := os.Getenv("CORPUS_OUT")
	if out == "" {
		if out, err = os.MkdirTemp("/var/tmp", "pkgbox-corpus-"); err != nil {
			t.Fatal(err)
		}
	}
	out, _ = filepath.Abs(out)
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("corpus: %d sources, results in %s\n", len(entries), out)

	ctx := context.Background()
	apt, err := newAptConfig(ctx, filepath.Join(out, ".apt"))
	if err != nil {
		t.Fatal(err)
	}
	bin := pkgboxBinary(t)
	mode := fetchMode(t, bin)
	arch := hostArch(t)
	timeout := os.Getenv("CORPUS_TIMEOUT")
	if timeout == "" {
		timeout = "30m"
	}
	fmt.Printf("corpus: pkgbox %s, sources fetched by %s\n", bin, mode)

	var results []Result
	for _, e := range entries {
		r := runOne(ctx, t, apt, bin, mode, arch, timeout, e, filepath.Join(out, e.Name))
		fmt.Printf("corpus: %-32s %-8s %s\n", e.Name, fmtDuration(r.Build), r.Outcome)
		results = append(results, r)
	}
	table := formatTable(results)
	fmt.Print(table)
	if err := os.WriteFile(filepath.Join(out, "summary.txt"), []byte(table), 0o644); err != nil {
		t.Error(err)
	}
	js, err := json.MarshalIndent(results, "", "  ")
	if err == nil {
		err = os.WriteFile(filepath.Join(out, "summary.json"), append(js, '\n'), 0o644)
	}
	if err != nil {
		t.Error(err)
	}
}

// runOne builds one source, fetches the archive's binaries and compares.
func runOne(ctx context.Context, t *testing.T, apt *aptConfig, bin, mode, arch, timeout string, e Entry, dir string) Result {
	r := Result{Name: e.Name}
	fail := func(outcome string, err error) Result {
		r.Outcome = outcome
		r.Lines = append(r.Lines, strings.Split(strings.TrimSpace(err.Error()), "\n")...)
		return r
	}
	if err := os.RemoveAll(dir); err != nil {
		return fail("error", err)
	}
	ver, bins, err := apt.sourceVersion(ctx, e.Name)
	if err != nil {
		return fail("error", err)
	}
	r.Version = ver
	missing, err := apt.unserved(ctx, e.Name, ver)
	if err != nil {
		return fail("error", err)
	}
	if len(missing) > 0 {
		return fail("not-served", fmt.Errorf("the mirror does not serve %s", strings.Join(missing, ", ")))
	}
	ours := filepath.Join(dir, "pkgbox")
	if err := os.MkdirAll(ours, 0o755); err != nil {
		return fail("error", err)
	}
	src := e.Name + "=" + ver
	if mode == "apt" {
		if src, err = apt.fetchSource(ctx, e.Name, ver, filepath.Join(dir, "source")); err != nil {
			return fail("error", err)
		}
	}
	logPath := filepath.Join(dir, "pkgbox.out")
	start := time.Now()
	code, err := runPkgbox(ctx, bin, logPath, "build", src, "--out", ours, "--timeout", timeout)
	r.Build = time.Since(start)
	if err != nil {
		return fail("error", err)
	}
	if code != 0 {
		outcome := "error"
		if code == 3 {
			outcome = "build-failed"
		}
		if strings.Contains(lastPkgboxLine(logPath), "time limit") {
			outcome = "timeout"
		}
		msg := fmt.Sprintf("pkgbox exited %d: %s", code, lastPkgboxLine(logPath))
		if logs, _ := filepath.Glob(filepath.Join(ours, "*.build")); len(logs) == 1 {
			data, _ := os.ReadFile(logs[0])
			if c := FailureCause(string(data)); c != "" {
				msg += "\ncause: " + c
			}
		}
		return fail(outcome, fmt.Errorf("%s\n(full output: %s)", msg, logPath))
	}
	r.Built = true
	archive := filepath.Join(dir, "archive")
	if _, err := apt.downloadBinaries(ctx, e.Name, ver, arch, bins, archive); err != nil {
		return fail("error", err)
	}
	o, err := ReadDir(ours)
	if err != nil {
		return fail("error", err)
	}
	a, err := ReadDir(archive)
	if err != nil {
		return fail("error", err)
	}
	rep := Compare(o, a, Options{NoArchiveDbgsym: true})
	r.Match, r.Total = rep.Counts()
	r.Outcome = string(rep.Status())
	r.Lines = rep.Lines()
	return r
}

// runPkgbox runs pkgbox with its output in logPath and returns its exit code.
func runPkgbox(ctx context.Context, bin, logPath string, args ...string) (int, error) {
	log, err := os.Create(logPath)
	if err != nil {
		return 0, err
	}
	defer log.Close()
	fmt.Fprintf(log, "$ pkgbox %s\n", strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	return 0, err
}

// lastPkgboxLine is the last "pkgbox: " line of a log, pkgbox's own error.
func lastPkgboxLine(logPath string) string {
	data, _ := os.ReadFile(logPath)
	last := ""
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "pkgbox: ") {
			last = strings.TrimPrefix(l, "pkgbox: ")
		}
	}
	if last == "" {
		return tail(data, 1)
	}
	return last
}

// pkgboxBinary is CORPUS_PKGBOX or pkgbox built from this tree.
func pkgboxBinary(t *testing.T) string {
	if b := os.Getenv("CORPUS_PKGBOX"); b != "" {
		return b
	}
	bin := filepath.Join(t.TempDir(), "pkgbox")
	cmd := exec.Command("go", "build", "-o", bin, "../../cmd/pkgbox")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build pkgbox: %v\n%s", err, out)
	}
	return bin
}

var takesName = regexp.MustCompile(`\bNAME\b`)

// fetchMode says who fetches sources: pkgbox itself where its build
// command takes a source package name, else the driver.
func fetchMode(t *testing.T, bin string) string {
	switch m := os.Getenv("CORPUS_FETCH"); m {
	case "pkgbox", "apt":
		return m
	case "", "auto":
	default:
		t.Fatalf("CORPUS_FETCH=%q: want pkgbox, apt or auto", m)
	}
	help, err := exec.Command(bin, "build", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("pkgbox build --help: %v\n%s", err, help)
	}
	if takesName.Match(help) {
		return "pkgbox"
	}
	return "apt"
}

func hostArch(t *testing.T) string {
	out, err := exec.Command("dpkg", "--print-architecture").Output()
	if err != nil {
		t.Fatalf("dpkg --print-architecture: %v", err)
	}
	return strings.TrimSpace(string(out))
}
