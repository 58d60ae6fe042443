package bootstrap_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"pkgbox/bootstrap"
)

// TestDebootstrapDir: the DEBOOTSTRAP_DIR create gives debootstrap holds
// debootstrap's own scripts, and its functions, once sourced as
// debootstrap sources them, answer through pkgbox's reader (this test
// binary, as debootstrap would start pkgbox) what perl's would.
func TestDebootstrapDir(t *testing.T) {
	requirePerlPkgDetails(t)
	dir := t.TempDir()
	if _, err := bootstrap.DebootstrapDir(dir, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "scripts", "bookworm")); err != nil {
		t.Errorf("debootstrap's scripts are not there: %v", err)
	}
	odd, err := filepath.Abs("testdata/pkgdetails/Packages")
	if err != nil {
		t.Fatal(err)
	}
	run := func(functions string) string {
		cmd := exec.Command("/bin/sh", "-c", `. "$0"; echo "$PKGDETAILS"; "$PKGDETAILS" PKGS REAL "$1" a b last`, functions, odd)
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "DEBOOTSTRAP_CHECKSUM_FIELD=SHA256", "DEBOOTSTRAP_DIR=" + dir}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v: %s", functions, err, out)
		}
		return string(out)
	}
	got, want := run(filepath.Join(dir, "functions")), run(debootstrapFunctions)
	if !strings.HasPrefix(got, "pkgbox_pkgdetails\n") {
		t.Errorf("debootstrap would use %q, want pkgbox's reader", strings.SplitN(got, "\n", 2)[0])
	}
	if strings.SplitN(got, "\n", 2)[1] != strings.SplitN(want, "\n", 2)[1] {
		t.Errorf("through the functions create writes:\n%s\nthrough debootstrap's own:\n%s", got, want)
	}
}

// TestDebootstrapDirGet: with a cache, the functions create writes answer
// debootstrap's get for a package the prefetch marked as checked without
// checking it again, with debootstrap's message, and hand everything else
// to debootstrap's own get, which checks and, on a mismatch, fetches again.
func TestDebootstrapDirGet(t *testing.T) {
	requirePerlPkgDetails(t)
	dir, cache, src := t.TempDir(), t.TempDir(), t.TempDir()
	checked, err := bootstrap.DebootstrapDir(dir, cache)
	if err != nil {
		t.Fatal(err)
	}
	if checked == "" {
		t.Fatalf("no get for the checked packages: debootstrap's get in %s is not as pkgbox expects", debootstrapFunctions)
	}
	// debootstrap downloads into the cache's partial/ and renames, where
	// there is one: never over a file another create has marked.
	if st, err := os.Stat(filepath.Join(cache, "partial")); err != nil || !st.IsDir() {
		t.Errorf("no partial/ in the cache for debootstrap's downloads: %v", err)
	}
	good := []byte("the package as the index has it\n")
	sum := sha256.Sum256(good)
	sha, size := hex.EncodeToString(sum[:]), len(good)
	if err := os.WriteFile(filepath.Join(src, "p.deb"), good, 0o644); err != nil {
		t.Fatal(err)
	}
	// get FROM DEST SHA256 SIZE, as download_debs calls it, through
	// functions; what it printed, its status and DEST's contents after.
	get := func(functions, name, contents, sha string) string {
		t.Helper()
		dest := filepath.Join(cache, name)
		if err := os.WriteFile(dest, []byte(contents), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(dest)
		cmd := exec.Command("/bin/sh", "-c", `set -e; exec 4>&1; . "$0"; if get "$@"; then echo ok; else echo failed; fi`,
			functions, "file://"+filepath.Join(src, "p.deb"), dest, sha, strconv.Itoa(size))
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "DEBOOTSTRAP_CHECKSUM_FIELD=SHA256", "SHA_SIZE=256", "DEBOOTSTRAP_DIR=" + dir}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v: %s", functions, err, out)
		}
		after, _ := os.ReadFile(dest)
		return string(out) + "contents: " + string(after)
	}
	ours := filepath.Join(dir, "functions")
	mark := func(name string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(checked, bootstrap.CheckedMark(sha, int64(size), name)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// A checked package: the same answer and message as debootstrap's get,
	// the epoch's colon unescaped.
	name := "libc6_2%3a2.36-9_amd64.deb"
	mark(name)
	want := "I: Validating libc6 2:2.36-9\nok\ncontents: " + string(good)
	if got := get(ours, name, string(good), sha); got != want {
		t.Errorf("checked package: got\n%s\nwant\n%s", got, want)
	}
	if got := get(debootstrapFunctions, name, string(good), sha); got != want {
		t.Errorf("debootstrap's own get: got\n%s\nwant\n%s", got, want)
	}
	// The mark is what pkgbox trusts: get does not read the file again.
	if got := get(ours, name, "damaged after the check", sha); !strings.Contains(got, "ok\ncontents: damaged after the check") {
		t.Errorf("a marked file was checked again:\n%s", got)
	}

	// Not marked, or marked for another checksum: debootstrap's own get,
	// which finds the file wrong, removes it and fetches it again.
	for _, c := range []struct{ what, name, sha string }{
		{"unmarked", "hello_2.10-3_amd64.deb", sha},
		{"another checksum", name, strings.Repeat("0", 64)},
	} {
		got, want := get(ours, c.name, "wrong", c.sha), get(debootstrapFunctions, c.name, "wrong", c.sha)
		if got != want {
			t.Errorf("%s: got\n%s\nthrough debootstrap's own get:\n%s", c.what, got, want)
		}
	}
	if got := get(ours, "hello_2.10-3_amd64.deb", "wrong", sha); !strings.Contains(got, "ok\ncontents: "+string(good)) {
		t.Errorf("debootstrap's get did not fetch the package again:\n%s", got)
	}
}

// TestDebootstrapDirAptDest: the apt_dest create writes names every file as
// debootstrap's does.
func TestDebootstrapDirAptDest(t *testing.T) {
	requirePerlPkgDetails(t)
	dir := t.TempDir()
	if _, err := bootstrap.DebootstrapDir(dir, ""); err != nil {
		t.Fatal(err)
	}
	ours := filepath.Join(dir, "functions")
	if out, err := exec.Command("/bin/sh", "-c", `. "$0"; command -v pkgbox_debootstrap_apt_dest`, ours).CombinedOutput(); err != nil {
		t.Fatalf("no apt_dest of pkgbox's: debootstrap's in %s is not as pkgbox expects (%v: %s)", debootstrapFunctions, err, out)
	}
	for _, args := range [][]string{
		{"deb", "hello", "2.10-3", "amd64", "http://m/debian", "pool/main/h/hello/hello_2.10-3_amd64.deb"},
		{"deb", "libc6", "2:2.36-9", "amd64", "http://m/debian", "pool/x.deb"},
		{"deb", "odd", "1:2:3", "all", "http://m/debian", "pool/y.deb"},
		{"deb", "back", `1\t2`, "all", "http://m/debian", "pool/z.deb"},
		{"pkg", "bookworm", "main", "amd64", "http://m/debian", "dists/bookworm/main/binary-amd64/Packages"},
		{"rel", "bookworm", "https://m:8080/debian", "dists/bookworm/InRelease"},
	} {
		name := func(functions string) string {
			cmd := exec.Command("/bin/sh", append([]string{"-c", `. "$0"; apt_dest "$@"`, functions}, args...)...)
			cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "APTSTATE=/var/lib/apt", "DEBOOTSTRAP_DIR=" + dir}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s: apt_dest %q: %v: %s", functions, args, err, out)
			}
			return string(out)
		}
		if got, want := name(ours), name(debootstrapFunctions); got != want {
			t.Errorf("apt_dest %q = %q, debootstrap's says %q", args, got, want)
		}
	}
}
