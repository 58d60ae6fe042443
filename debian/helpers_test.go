package debian

import (
	"crypto/md5"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// writeTree creates files under dir: each key is a slash-separated path,
// each value its content. Parent directories are made as needed.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// checkErr fails unless err matches the regular expression want ("" wants
// no error) and is a one-line message.
func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want %q", want)
	}
	if !regexp.MustCompile(want).MatchString(err.Error()) {
		t.Fatalf("error %q does not match %q", err, want)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %q is more than one line", err)
	}
}

// checkLine fails unless err is a *FileError at line.
func checkLine(t *testing.T, err error, line int) {
	t.Helper()
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Fatalf("error %q is not a *FileError", err)
	}
	if fe.Line != line {
		t.Fatalf("error %q: line %d, want %d", err, fe.Line, line)
	}
}

const goodControl = `Source: hello
Maintainer: pkgbox tests <pkgbox@example.invalid>
Build-Depends: debhelper-compat (= 13), libfoo-dev [amd64] | libbar-dev,
 check <!nocheck>
Build-Depends-Indep: python3:any
Build-Conflicts: bad (<< 2)
Rules-Requires-Root: no

Package: hello
Architecture: any
Description: x
 y

Package: hello-doc
Architecture: all
Description: x
`

const goodChangelog = `hello (2:1.0-1) unstable; urgency=medium

  * Initial release.

 -- pkgbox tests <pkgbox@example.invalid>  Mon, 01 Jan 2024 00:00:00 +0000

hello (0.9-1) unstable; urgency=medium

  * Older.

 -- pkgbox tests <pkgbox@example.invalid>  Sun, 31 Dec 2023 00:00:00 +0000
`

// dscFile is a file to list in a test .dsc.
type dscFile struct {
	name    string // name as listed
	content string // what is written beside the .dsc under name, unless noWrite
	noWrite bool
}

// makeDsc writes files and a .dsc listing them into dir; edit may rewrite
// the .dsc's text. It returns the .dsc's path.
func makeDsc(t *testing.T, dir string, files []dscFile, edit func(string) string) string {
	t.Helper()
	var fl, sl strings.Builder
	for _, f := range files {
		fmt.Fprintf(&fl, " %x %d %s\n", md5.Sum([]byte(f.content)), len(f.content), f.name)
		fmt.Fprintf(&sl, " %x %d %s\n", sha256.Sum256([]byte(f.content)), len(f.content), f.name)
		if !f.noWrite {
			writeTree(t, dir, map[string]string{f.name: f.content})
		}
	}
	text := "Format: 3.0 (native)\n" +
		"Source: hello\n" +
		"Binary: hello\n" +
		"Architecture: any all\n" +
		"Version: 1:1.0-2\n" +
		"Build-Depends: debhelper-compat (= 13)\n" +
		"Checksums-Sha256:\n" + sl.String() +
		"Files:\n" + fl.String()
	if edit != nil {
		text = edit(text)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "hello_1.0-2.dsc")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// clearsign wraps text in a PGP clearsigned envelope with a signature that
// is not valid: pkgbox must read it all the same, without checking it.
func clearsign(text string) string {
	return "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n" + text +
		"-----BEGIN PGP SIGNATURE-----\n\niQEzBAEBCAAdFiEE\n=abcd\n-----END PGP SIGNATURE-----\n"
}
