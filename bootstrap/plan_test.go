package bootstrap

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// testHost is a host made of fixtures: an amd64 machine with the apt
// sources of testdata/apt, a few debootstrap scripts and an arm64 emulator.
func testHost() *Host {
	return &Host{
		AptDir:     filepath.Join("testdata", "apt"),
		ScriptsDir: filepath.Join("testdata", "scripts"),
		BinfmtDir:  filepath.Join("testdata", "binfmt"),
		Arch:       "amd64",
	}
}

func TestNewPlanDefaults(t *testing.T) {
	p, err := NewPlan(context.Background(), &Request{Suite: "bookworm"}, testHost())
	if err != nil {
		t.Fatal(err)
	}
	want := &Plan{
		Name: "bookworm", Suite: "bookworm", Known: true, Arch: "amd64", Variant: "buildd",
		Components:   []string{"main"},
		Mirror:       "http://deb.example.org/debian",
		MirrorOrigin: filepath.Join("testdata", "apt", "sources.list") + ":3",
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("NewPlan =\n%+v\nwant\n%+v", p, want)
	}
}

func TestNewPlan(t *testing.T) {
	tests := []struct {
		name  string
		req   Request
		check func(t *testing.T, p *Plan)
	}{
		{"alias keeps its name, records the codename", Request{Suite: "Oldstable"}, func(t *testing.T, p *Plan) {
			if p.Suite != "bookworm" || p.Name != "oldstable" || !p.Known {
				t.Errorf("suite %q name %q known %v", p.Suite, p.Name, p.Known)
			}
		}},
		{"other current release from the host's mirror", Request{Suite: "sid"}, func(t *testing.T, p *Plan) {
			if p.Mirror != "http://deb.example.org/debian" {
				t.Errorf("mirror %q from %q", p.Mirror, p.MirrorOrigin)
			}
		}},
		{"foreign arch gets a suffix", Request{Suite: "bookworm", Arch: "arm64"}, func(t *testing.T, p *Plan) {
			if p.Name != "bookworm-arm64" || p.Arch != "arm64" {
				t.Errorf("name %q arch %q", p.Name, p.Arch)
			}
		}},
		{"compat arch needs no emulator", Request{Suite: "bookworm", Arch: "i386"}, func(t *testing.T, p *Plan) {
			if p.Name != "bookworm-i386" {
				t.Errorf("name %q", p.Name)
			}
		}},
		{"host arch given gets no suffix", Request{Suite: "bookworm", Arch: "amd64"}, func(t *testing.T, p *Plan) {
			if p.Name != "bookworm" {
				t.Errorf("name %q", p.Name)
			}
		}},
		{"name, variant, components, include", Request{Suite: "trixie", Name: "t1", Variant: "minbase", Components: []string{"main", "contrib"}, Include: []string{"build-essential", "libc6-dev", "g++"}}, func(t *testing.T, p *Plan) {
			if p.Name != "t1" || p.Variant != "minbase" || strings.Join(p.Components, ",") != "main,contrib" || len(p.Include) != 3 {
				t.Errorf("%+v", p)
			}
		}},
		{"mirror flag", Request{Suite: "bookworm", Mirror: "http://local.example.invalid/debian/"}, func(t *testing.T, p *Plan) {
			if p.Mirror != "http://local.example.invalid/debian" || p.MirrorOrigin != "--mirror" {
				t.Errorf("mirror %q from %q", p.Mirror, p.MirrorOrigin)
			}
		}},
		{"unknown suite with mirror and script", Request{Suite: "noble", Mirror: "http://ubuntu.example.invalid/ubuntu"}, func(t *testing.T, p *Plan) {
			if p.Suite != "noble" || p.Known || p.Archived || p.Name != "noble" {
				t.Errorf("%+v", p)
			}
		}},
		{"keyring", Request{Suite: "bookworm", Keyring: filepath.Join("testdata", "keyring.gpg")}, func(t *testing.T, p *Plan) {
			if p.Keyring != filepath.Join("testdata", "keyring.gpg") {
				t.Errorf("keyring %q", p.Keyring)
			}
		}},
		{"no check gpg is noted", Request{Suite: "bookworm", NoCheckGPG: true}, func(t *testing.T, p *Plan) {
			if !p.NoCheckGPG || p.Keyring != "" || len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "--no-check-gpg") {
				t.Errorf("%+v", p)
			}
		}},
		{"archived without gpg check needs no keyring", Request{Suite: "wheezy", NoCheckGPG: true}, func(t *testing.T, p *Plan) {
			if !p.Archived || p.Keyring != "" || p.Mirror != "http://archive.example.invalid/debian" {
				t.Errorf("%+v", p)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPlan(context.Background(), &tt.req, testHost())
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p)
		})
	}
}

func TestNewPlanArchived(t *testing.T) {
	_, statErr := os.Stat(RemovedKeysKeyring)
	for _, tt := range []struct{ suite, origin string }{
		{"squeeze", "debootstrap's script for squeeze"},
		{"buster", "debootstrap's archive mirror, from " + filepath.Join("testdata", "scripts", "squeeze")},
	} {
		t.Run(tt.suite, func(t *testing.T) {
			p, err := NewPlan(context.Background(), &Request{Suite: tt.suite}, testHost())
			if statErr != nil {
				var ke *KeyringError
				if !errors.As(err, &ke) || ke.Path != RemovedKeysKeyring || !strings.Contains(ke.Hint(), "debian-archive-keyring") {
					t.Fatalf("without %s: err = %v, want a KeyringError", RemovedKeysKeyring, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !p.Archived || p.Keyring != RemovedKeysKeyring || p.Mirror != "http://archive.example.invalid/debian" || p.MirrorOrigin != tt.origin {
				t.Errorf("%+v", p)
			}
			if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "archived") || !strings.Contains(p.Notes[0], RemovedKeysKeyring) {
				t.Errorf("notes %q", p.Notes)
			}
		})
	}
}

// TestNewPlanArchiveKeyring: Host.ArchiveKeyring replaces the removed-keys
// keyring for archived suites only, and --keyring still wins over it.
func TestNewPlanArchiveKeyring(t *testing.T) {
	h := testHost()
	h.ArchiveKeyring = filepath.Join("testdata", "keyring.gpg")
	other := filepath.Join(t.TempDir(), "other.gpg")
	if err := os.WriteFile(other, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		req  Request
		want string
	}{
		{Request{Suite: "squeeze"}, h.ArchiveKeyring},
		{Request{Suite: "squeeze", Keyring: other}, other},
		{Request{Suite: "bookworm"}, ""},
	} {
		p, err := NewPlan(context.Background(), &tt.req, h)
		if err != nil {
			t.Fatal(err)
		}
		if p.Keyring != tt.want {
			t.Errorf("%+v: keyring %q, want %q", tt.req, p.Keyring, tt.want)
		}
	}
	h.ArchiveKeyring = filepath.Join("testdata", "missing.gpg")
	var ke *KeyringError
	if _, err := NewPlan(context.Background(), &Request{Suite: "squeeze"}, h); !errors.As(err, &ke) || ke.Path != h.ArchiveKeyring {
		t.Errorf("missing archive keyring: %v, want a KeyringError for it", err)
	}
}

func TestNewPlanErrors(t *testing.T) {
	noBinfmt := testHost()
	noBinfmt.BinfmtDir = filepath.Join("testdata", "nobinfmt")
	noArchiveScripts := testHost()
	noArchiveScripts.ScriptsDir = t.TempDir()
	// A scripts directory with a subdirectory, and a file beside it that a
	// suite name must not reach ("sub/../../evil").
	escape := testHost()
	tmp := t.TempDir()
	escape.ScriptsDir = filepath.Join(tmp, "scripts")
	for _, err := range []error{
		os.MkdirAll(filepath.Join(escape.ScriptsDir, "sub"), 0o755),
		os.WriteFile(filepath.Join(tmp, "evil"), []byte("echo pwned\n"), 0o644),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		req  Request
		host *Host
		want string // the error's text
		as   any    // a pointer to the error type, or nil
	}{
		{"no suite", Request{}, nil, "no suite given", nil},
		{"unknown suite", Request{Suite: "bookwrom"}, nil, `unknown suite "bookwrom" (known: `, new(*UnknownSuiteError)},
		{"unknown suite without script", Request{Suite: "focal", Mirror: "http://ubuntu.example.invalid/ubuntu"}, nil,
			`debootstrap has no script for suite "focal" in ` + filepath.Join("testdata", "scripts"), nil},
		{"unknown suite out of the scripts dir", Request{Suite: "sub/../../evil", Mirror: "http://ubuntu.example.invalid/ubuntu", Name: "x"}, escape,
			`suite "sub/../../evil" is not a valid suite name`, nil},
		{"unknown suite with blanks", Request{Suite: "no ble", Mirror: "http://ubuntu.example.invalid/ubuntu"}, nil,
			`suite "no ble" is not a valid suite name`, nil},
		{"unknown arch", Request{Suite: "bookworm", Arch: "amd65"}, nil, `unknown architecture "amd65" (known: `, new(*UnknownArchError)},
		{"foreign arch without binfmt", Request{Suite: "bookworm", Arch: "arm64"}, noBinfmt,
			"cannot run arm64 programs on this amd64 host: binfmt_misc is not mounted at " + filepath.Join("testdata", "nobinfmt"), new(*ForeignArchError)},
		{"foreign arch with disabled emulator", Request{Suite: "bookworm", Arch: "armhf"}, nil, "cannot run armhf programs on this amd64 host: ", new(*ForeignArchError)},
		{"name with slash", Request{Suite: "bookworm", Name: "a/b"}, nil, `root name "a/b" may only hold`, nil},
		{"name dotdot", Request{Suite: "bookworm", Name: ".."}, nil, `root name ".." may not contain ".."`, nil},
		{"name starting with dash", Request{Suite: "bookworm", Name: "-rf"}, nil, `root name "-rf" may only hold`, nil},
		{"variant", Request{Suite: "bookworm", Variant: "maxbase"}, nil, `unknown variant "maxbase" (known: buildd, minbase, fakechroot, default)`, nil},
		{"component", Request{Suite: "bookworm", Components: []string{"main", "non free"}}, nil, `component "non free" is not a valid component name`, nil},
		{"component option", Request{Suite: "bookworm", Components: []string{"--foo"}}, nil, `component "--foo" is not a valid component name`, nil},
		{"package option", Request{Suite: "bookworm", Include: []string{"--print-debs"}}, nil, `package "--print-debs" in --include is not a valid package name`, nil},
		{"package with comma", Request{Suite: "bookworm", Include: []string{"a,b"}}, nil, `package "a,b" in --include is not a valid package name`, nil},
		{"package upper case", Request{Suite: "bookworm", Include: []string{"Vim"}}, nil, `package "Vim" in --include is not a valid package name`, nil},
		{"keyring and no check", Request{Suite: "bookworm", Keyring: filepath.Join("testdata", "keyring.gpg"), NoCheckGPG: true}, nil, "--keyring and --no-check-gpg contradict each other", nil},
		{"missing keyring", Request{Suite: "bookworm", Keyring: filepath.Join("testdata", "missing.gpg")}, nil, `read keyring "` + filepath.Join("testdata", "missing.gpg") + `": `, new(*KeyringError)},
		{"bad mirror", Request{Suite: "bookworm", Mirror: "deb.example.org/debian"}, nil, `mirror "deb.example.org/debian" is not an http, https, ftp or file URL`, nil},
		{"archived without any mirror", Request{Suite: "buster", NoCheckGPG: true}, noArchiveScripts, `suite "buster" is archived and no archive mirror is known`, new(*NeedMirrorError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.host
			if h == nil {
				h = testHost()
			}
			p, err := NewPlan(context.Background(), &tt.req, h)
			if err == nil {
				t.Fatalf("NewPlan = %+v, want error %q", p, tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("err = %q, want it to start %q", err, tt.want)
			}
			if tt.as != nil && !errors.As(err, tt.as) {
				t.Errorf("err = %T, want %T", err, tt.as)
			}
		})
	}
}

func TestPlanArgs(t *testing.T) {
	plan := func(req Request) *Plan {
		t.Helper()
		p, err := NewPlan(context.Background(), &req, testHost())
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name string
		p    *Plan
	}{
		{"default bookworm", plan(Request{Suite: "bookworm"})},
		{"minbase arm64 with include", plan(Request{Suite: "stable", Arch: "arm64", Variant: "minbase", Include: []string{"ca-certificates", "build-essential"}, Components: []string{"main", "contrib", "non-free-firmware"}})},
		{"default variant with keyring", plan(Request{Suite: "sid", Variant: "default", Keyring: filepath.Join("testdata", "keyring.gpg")})},
		{"no check gpg, unknown suite", plan(Request{Suite: "noble", Mirror: "file:///srv/mirror/ubuntu", NoCheckGPG: true})},
		// Built by hand, so the golden does not depend on this machine's keyrings.
		{"archived squeeze", &Plan{Name: "squeeze", Suite: "squeeze", Known: true, Archived: true, Arch: "i386", Variant: "buildd",
			Components: []string{"main"}, Mirror: "http://archive.example.invalid/debian", Keyring: RemovedKeysKeyring}},
		{"no mirror", &Plan{Name: "trixie", Suite: "trixie", Known: true, Arch: "amd64", Variant: "fakechroot", Components: []string{"main"}}},
	}
	var b strings.Builder
	for _, c := range cases {
		b.WriteString("# " + c.name + "\n")
		for _, a := range c.p.Args("/var/lib/pkgbox/cache/apt/x", "/var/lib/pkgbox/roots/.tmp-x") {
			b.WriteString(a + "\n")
		}
		b.WriteString("\n")
	}
	golden(t, "plan-args.golden", b.String())

	// A pure function: same plan, same argv, and no sharing with the plan.
	p := cases[1].p
	a1 := p.Args("c", "t")
	a1[len(a1)-1] = "changed"
	if a2 := p.Args("c", "t"); a2[len(a2)-1] == "changed" || !reflect.DeepEqual(p.Args("c", "t"), p.Args("c", "t")) {
		t.Error("Args is not a pure function of the plan")
	}
}
