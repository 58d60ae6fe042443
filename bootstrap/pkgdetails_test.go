package bootstrap_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"pkgbox/internal/testenv"
)

// debootstrapFunctions is the functions file of the installed debootstrap,
// whose perl pkgdetails is the oracle for pkgbox's.
const debootstrapFunctions = "/usr/share/debootstrap/functions"

func requirePerlPkgDetails(t *testing.T) {
	t.Helper()
	for _, p := range []string{debootstrapFunctions, "/usr/bin/perl"} {
		if _, err := os.Stat(p); err != nil {
			if os.Getenv(testenv.RequireEnv) != "" {
				t.Fatalf("needs debootstrap and perl: %v", err)
			}
			t.Skipf("needs debootstrap and perl: %v", err)
		}
	}
}

// pkgDetails runs one mode of a pkgdetails, perl's (through debootstrap's
// own functions, as debootstrap runs it) or pkgbox's (this test binary
// under the hidden argument, as debootstrap runs pkgbox), and returns its
// output with the lines "NAME -" sorted, which perl prints in its hash's
// random order.
func pkgDetails(t *testing.T, perl bool, stdin, checksum string, args ...string) string {
	t.Helper()
	out, stderr, err := runPkgDetails(perl, stdin, checksum, args...)
	if err != nil || stderr != "" {
		t.Fatalf("pkgdetails %q (perl %v): %v: %s", args, perl, err, stderr)
	}
	return out
}

func runPkgDetails(perl bool, stdin, checksum string, args ...string) (string, string, error) {
	var cmd *exec.Cmd
	if perl {
		cmd = exec.Command("/bin/sh", append([]string{"-c", `. "$0"; "$PKGDETAILS" "$@"`, debootstrapFunctions}, args...)...)
	} else {
		cmd = exec.Command(os.Args[0], append([]string{"__pkgbox-pkgdetails"}, args...)...)
	}
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "DEBOOTSTRAP_CHECKSUM_FIELD=" + checksum}
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var found, missing []string
	for _, l := range strings.SplitAfter(string(out), "\n") {
		if strings.HasSuffix(l, " -\n") {
			missing = append(missing, l)
		} else if l != "" {
			found = append(found, l)
		}
	}
	sort.Strings(missing)
	return strings.Join(append(found, missing...), ""), stderr.String(), err
}

func comparePkgDetails(t *testing.T, stdin, checksum string, args ...string) string {
	t.Helper()
	want := pkgDetails(t, true, stdin, checksum, args...)
	got := pkgDetails(t, false, stdin, checksum, args...)
	if got != want {
		t.Errorf("pkgdetails %q: pkgbox's output differs from perl's\n--- perl\n%s--- pkgbox\n%s", args, want, got)
	}
	return got
}

// TestPkgDetailsMatchesPerl: pkgbox's pkgdetails prints what debootstrap's
// perl one prints, byte for byte, for every mode debootstrap uses, on a
// small index of odd cases (a package listed three times, values that
// carry over, odd spacing, empty dependency fields, a last stanza without
// its blank line) and on the host's own index of its suite.
func TestPkgDetailsMatchesPerl(t *testing.T) {
	requirePerlPkgDetails(t)
	odd, err := filepath.Abs("testdata/pkgdetails/Packages")
	if err != nil {
		t.Fatal(err)
	}
	for _, sum := range []string{"SHA256", "MD5SUM"} {
		for _, args := range [][]string{
			{"GETDEPS", odd, "a", "b", "c", "d", "nospace", "last"},
			{"GETDEPS", odd, "a"},
			{"GETDEPS", odd, "none"},
			{"PKGS", "REAL", odd, "a", "b", "c", "d", "last", "missing", "missing"},
			{"PKGS", "http://mirror/debian", odd, "a"},
			{"FIELD", "Priority:", "http://mirror/debian", odd, "required"},
			{"FIELD", "Priority:", "http://mirror/debian", odd, "important", "optional"},
			{"STANZAS", odd, "a", "b", "c", "last"},
		} {
			comparePkgDetails(t, "", sum, args...)
		}
	}
	// An index that cannot be read: grep says so, and perl prints what it
	// prints for no lines, with status 0.
	for _, args := range [][]string{
		{"PKGS", "REAL", "/nonexistent/Packages", "a", "b"},
		{"GETDEPS", "/nonexistent/Packages", "a"},
	} {
		want, _, werr := runPkgDetails(true, "", "SHA256", args...)
		got, stderr, err := runPkgDetails(false, "", "SHA256", args...)
		if got != want || (err == nil) != (werr == nil) || !strings.Contains(stderr, "/nonexistent/Packages") {
			t.Errorf("pkgdetails %q on a missing index: %q, %v, %q; perl's: %q, %v", args, got, err, stderr, want, werr)
		}
	}
	// wget's progress, as debootstrap pipes it.
	wget := "  0K .......... ..........  10% 1.2M 1s\n 50K ..... 55%  2M\r100%\nx5% 7%%  12a%\n"
	comparePkgDetails(t, wget, "SHA256", "WGET%", "10", "20", "100")
	comparePkgDetails(t, wget, "SHA256", "WGET%", "0", "50", "100", "Downloading")

	// The host's own index, its largest (the suite's, not its updates'):
	// what debootstrap reads for that suite.
	lists, _ := filepath.Glob("/var/lib/apt/lists/*_main_binary-*_Packages*")
	if len(lists) == 0 {
		t.Log("the host has no package lists: only the small index was compared")
		return
	}
	sort.Slice(lists, func(i, j int) bool { return fileSize(lists[i]) > fileSize(lists[j]) })
	index := filepath.Join(t.TempDir(), "Packages")
	f, err := os.Create(index)
	if err != nil {
		t.Fatal(err)
	}
	cat := exec.Command("/usr/lib/apt/apt-helper", "cat-file", lists[0])
	cat.Stdout = f
	if err := cat.Run(); err != nil {
		t.Fatalf("decompress %s: %v", lists[0], err)
	}
	f.Close()
	// FIELD's lines are "name   M   ": its other values are not read.
	var names []string
	for _, r := range strings.Fields(comparePkgDetails(t, "", "SHA256", "FIELD", "Priority:", "M", index, "required")) {
		if r != "M" {
			names = append(names, r)
		}
	}
	if len(names) < 10 {
		t.Fatalf("only %d required packages in %s", len(names), lists[0])
	}
	comparePkgDetails(t, "", "SHA256", "FIELD", "Priority:", "M", index, "important", "standard")
	deps := strings.Fields(comparePkgDetails(t, "", "SHA256", append([]string{"GETDEPS", index, "apt", "build-essential"}, names...)...))
	comparePkgDetails(t, "", "SHA256", append([]string{"PKGS", "REAL", index, "no-such-package"}, append(names, deps...)...)...)
	comparePkgDetails(t, "", "SHA256", append([]string{"STANZAS", index, "apt"}, names...)...)
}

func fileSize(p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return st.Size()
}
