package bootstrap

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadScript(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "s")
	script := `mirror_style release
default_mirror http://top.example.invalid/debian
keyring /usr/share/keyrings/debian-archive-removed-keys.gpg
case $ARCH in
  arm64) default_mirror http://ports.example.invalid/debian ;;
esac
	keyring /indented/does/not/count.gpg
default_mirror  spaced and too many words
`
	if err := os.WriteFile(path, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	info, err := readScript(path)
	if err != nil {
		t.Fatal(err)
	}
	want := scriptInfo{mirror: "http://top.example.invalid/debian", keyring: RemovedKeysKeyring}
	if info != want {
		t.Errorf("readScript = %+v, want %+v", info, want)
	}
	if _, err := readScript(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing script: err = %v", err)
	}
}

func TestDebootstrapArchiveMirror(t *testing.T) {
	uri, script := debootstrapArchiveMirror(filepath.Join("testdata", "scripts"))
	if uri != "http://archive.example.invalid/debian" || script != filepath.Join("testdata", "scripts", "squeeze") {
		t.Errorf("debootstrapArchiveMirror = %q, %q", uri, script)
	}
	// A script whose mirror is not checked with the removed keys is no
	// archive mirror, and neither is an unusable URL.
	dir := t.TempDir()
	for name, body := range map[string]string{
		"a": "default_mirror http://current.example.invalid/debian\nkeyring /usr/share/keyrings/debian-archive-keyring.gpg\n",
		"b": "default_mirror cdrom:/media\nkeyring " + RemovedKeysKeyring + "\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if uri, script := debootstrapArchiveMirror(dir); uri != "" || script != "" {
		t.Errorf("debootstrapArchiveMirror = %q, %q, want nothing", uri, script)
	}
}

func TestChooseMirror(t *testing.T) {
	bookworm, _ := LookupSuite("bookworm")
	squeeze, _ := LookupSuite("squeeze")
	buster, _ := LookupSuite("buster")
	scripts := filepath.Join("testdata", "scripts")
	host := []Source{
		{Types: []string{"deb"}, URIs: []string{"http://deb.example.org/debian"}, Suites: []string{"bookworm"}, Enabled: true, Origin: "sources.list:1"},
	}
	archive := []Source{
		{Types: []string{"deb"}, URIs: []string{"http://archive.example.org/debian/"}, Suites: []string{"stretch"}, Enabled: true, Origin: "old.list:1"},
	}
	tests := []struct {
		name                string
		flag                string
		suite               Suite
		sources             []Source
		scripts             string
		mirror, origin, err string
	}{
		{"flag wins", "https://local.example.invalid/debian/", bookworm, host, scripts, "https://local.example.invalid/debian", "--mirror", ""},
		{"flag file URL", "file:///srv/mirror", squeeze, nil, scripts, "file:///srv/mirror", "--mirror", ""},
		{"bad flag", "mirror.example.invalid", bookworm, host, scripts, "", "", `mirror "mirror.example.invalid" is not an http, https, ftp or file URL`},
		{"bad flag scheme", "cdrom:/media", bookworm, host, scripts, "", "", `mirror "cdrom:/media" is not an http, https, ftp or file URL`},
		{"host", "", bookworm, host, scripts, "http://deb.example.org/debian", "sources.list:1", ""},
		{"current, nothing known", "", bookworm, nil, scripts, "", "debootstrap's default", ""},
		{"archived from the host", "", squeeze, archive, scripts, "http://archive.example.org/debian", "old.list:1", ""},
		{"archived from its script", "", squeeze, host, scripts, "http://archive.example.invalid/debian", "debootstrap's script for squeeze", ""},
		{"archived from another script", "", buster, host, scripts, "http://archive.example.invalid/debian", "debootstrap's archive mirror, from " + filepath.Join(scripts, "squeeze"), ""},
		{"archived, nothing known", "", buster, host, t.TempDir(), "", "", `suite "buster" is archived and no archive mirror is known: the host's apt sources and debootstrap's scripts name none`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mirror, origin, err := chooseMirror(tt.flag, tt.suite, tt.sources, tt.scripts, "")
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Errorf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || mirror != tt.mirror || origin != tt.origin {
				t.Errorf("chooseMirror = %q, %q, %v; want %q, %q", mirror, origin, err, tt.mirror, tt.origin)
			}
		})
	}
}

func TestNeedMirrorErrorHint(t *testing.T) {
	e := &NeedMirrorError{Suite: "buster"}
	if h := e.Hint(); !strings.Contains(h, "pkgbox create buster --mirror URL") {
		t.Errorf("Hint() = %q", h)
	}
}

func TestCheckBinfmt(t *testing.T) {
	dir := filepath.Join("testdata", "binfmt")
	tests := []struct {
		arch, dir, reason string // reason "" = ok
	}{
		{"arm64", dir, ""},
		{"armhf", dir, filepath.Join(dir, "qemu-arm") + " is disabled"},
		{"riscv64", dir, filepath.Join(dir, "qemu-riscv64") + " lacks the F flag, so the emulator cannot run inside a root"},
		{"s390x", dir, "no emulator is registered (" + filepath.Join(dir, "qemu-s390x") + " is missing)"},
		{"arm64", filepath.Join("testdata", "nobinfmt"), "binfmt_misc is not mounted at " + filepath.Join("testdata", "nobinfmt")},
	}
	for _, tt := range tests {
		t.Run(tt.arch+" "+tt.dir, func(t *testing.T) {
			err := checkBinfmt(tt.arch, "amd64", tt.dir)
			if tt.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var fe *ForeignArchError
			if !errors.As(err, &fe) || fe.Reason != tt.reason || fe.Arch != tt.arch || fe.Host != "amd64" {
				t.Fatalf("err = %#v, want reason %q", err, tt.reason)
			}
			if want := "cannot run " + tt.arch + " programs on this amd64 host: " + tt.reason; err.Error() != want {
				t.Errorf("Error() = %q, want %q", err, want)
			}
			if !strings.Contains(fe.Hint(), "qemu-user-static") {
				t.Errorf("Hint() = %q", fe.Hint())
			}
		})
	}
}

func TestCheckArch(t *testing.T) {
	ctx := context.Background()
	binfmt := filepath.Join("testdata", "binfmt")
	none := filepath.Join("testdata", "nobinfmt")
	tests := []struct {
		arch, host, binfmt, archTest string
		ok                           bool
	}{
		{"amd64", "amd64", none, "", true},
		{"i386", "amd64", none, "", true},
		{"x32", "amd64", none, "", true},
		{"armel", "arm64", none, "", true},
		{"arm64", "amd64", binfmt, "", true},
		{"arm64", "amd64", none, "", false},
		{"amd64", "arm64", none, "", false},
		{"arm64", "amd64", none, "/bin/true", true},    // arch-test's word counts
		{"i386", "amd64", binfmt, "/bin/false", false}, // even against the compat table
	}
	for _, tt := range tests {
		err := checkArch(ctx, tt.arch, tt.host, tt.binfmt, tt.archTest)
		if (err == nil) != tt.ok {
			t.Errorf("checkArch(%s on %s, %s, %q) = %v, want ok %v", tt.arch, tt.host, tt.binfmt, tt.archTest, err, tt.ok)
		}
	}
	var ue *UnknownArchError
	if err := checkArch(ctx, "x86_64", "amd64", binfmt, ""); !errors.As(err, &ue) || ue.Arch != "x86_64" {
		t.Errorf("x86_64: err = %v, want UnknownArchError", err)
	}
	if !strings.Contains(ue.Error(), "amd64, arm64, armel") || !strings.Contains(ue.Hint(), "dpkg --print-architecture") {
		t.Errorf("UnknownArchError = %q, hint %q", ue.Error(), ue.Hint())
	}
}

func TestKnownArches(t *testing.T) {
	a := KnownArches()
	if !slices.IsSorted(a) || !slices.Contains(a, "amd64") || !slices.Contains(a, "arm64") || slices.Contains(a, "x86_64") {
		t.Errorf("KnownArches = %v", a)
	}
	// Every architecture Go maps to must be one pkgbox knows.
	for goarch, deb := range goArches {
		if !slices.Contains(a, deb) {
			t.Errorf("goArches[%q] = %q, not a known architecture", goarch, deb)
		}
	}
	if HostArch() == "" {
		t.Error("HostArch is empty")
	}
}
