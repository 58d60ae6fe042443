package build

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseRepository(t *testing.T) {
	for _, tt := range []struct {
		line string
		// want is the line written into the session with one key, or the
		// error's text.
		want string
		err  bool
	}{
		{"deb http://repo.example.invalid/debian experimental main", "deb [signed-by=/k.asc] http://repo.example.invalid/debian experimental main", false},
		{"deb [arch=amd64 lang=none] https://repo.example.invalid/d bookworm-backports main contrib", "deb [arch=amd64 lang=none signed-by=/k.asc] https://repo.example.invalid/d bookworm-backports main contrib", false},
		{"deb [ trusted=yes ] file:///srv/repo ./", "deb [trusted=yes] file:///var/lib/pkgbox-extra/repo-0 ./", false},
		{"deb [trusted=yes] file:///srv/repo unstable main", "deb [trusted=yes] file:///var/lib/pkgbox-extra/repo-0 unstable main", false},
		{"", `want "deb [OPTIONS] URI SUITE COMPONENT...", as a line of sources.list(5)`, true},
		{"deb-src http://repo.example.invalid/d sid main", `want "deb [OPTIONS] URI SUITE COMPONENT..."`, true},
		{"deb http://repo.example.invalid/d", "want a URI and a suite", true},
		{"deb http://repo.example.invalid/d sid", "want components after the suite", true},
		{"deb http://repo.example.invalid/d ./ main", "want components after the suite", true},
		{"deb [trusted=yes http://repo.example.invalid/d sid main", `"[" has no "]"`, true},
		{"deb [trusted] http://repo.example.invalid/d sid main", `option "trusted": want key=value`, true},
		{"deb [signed-by=/etc/k.gpg] http://repo.example.invalid/d sid main", "pkgbox sets signed-by", true},
		{"deb ftp://repo.example.invalid/d sid main", "want http://, https:// or file:///", true},
		{"deb file://srv/repo sid main", "file:///ABSOLUTE/PATH", true},
		{"deb http:///d sid main", "has no host", true},
		{"deb http://repo.example.invalid/d sid main\ndeb http://x.invalid/ sid main", "a control character", true},
	} {
		r, err := ParseRepository(tt.line)
		if tt.err {
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "extra repository ") {
				t.Errorf("%q: got %v, want an error with %q", tt.line, err, tt.want)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.line, err)
			continue
		}
		if got := r.sourceLine(0, []string{"/k.asc"}); got != tt.want {
			t.Errorf("%q: wrote %q, want %q", tt.line, got, tt.want)
		}
	}
}

func TestCheckRepositoryKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	armored := write("a.asc", []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQ...\n-----END PGP PUBLIC KEY BLOCK-----\n"))
	binary := write("b.gpg", []byte{0x99, 0x01, 0x0d, 0x04})
	text := write("c.txt", []byte("not a key\n"))
	link := filepath.Join(dir, "link.gpg")
	if err := os.Symlink(binary, link); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ file, err string }{
		{armored, ""},
		{binary, ""},
		{text, "not an OpenPGP public key"},
		{filepath.Join(dir, "missing.gpg"), "no such file"},
		{link, "symbolic link"},
	} {
		err := CheckRepositoryKey(tt.file)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s: %v", tt.file, err)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err) || !strings.HasPrefix(err.Error(), "extra repository key ")):
			t.Errorf("%s: got %v, want an error with %q", tt.file, err, tt.err)
		}
	}
}
