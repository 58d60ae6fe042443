package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"pkgbox/store"
)

// Request is what the user asked `pkgbox create` for; empty fields take
// their defaults.
type Request struct {
	// Suite is a codename or alias; anything else needs Mirror.
	Suite string
	// Name is the root's name: default Suite, or Suite-Arch for a foreign Arch.
	Name string
	// Arch is a Debian architecture; default the host's.
	Arch string
	// Variant is debootstrap's variant; default buildd.
	Variant string
	// Mirror overrides the mirror pkgbox would pick.
	Mirror string
	// Include are extra packages to install.
	Include []string
	// Components default to main.
	Components []string
	// Keyring overrides the keyring the Release file is checked with.
	Keyring string
	// NoCheckGPG skips the Release signature check; only ever by request.
	NoCheckGPG bool
	// NoCheckValidUntil makes the root's apt accept a Release file whose
	// Valid-Until has passed: a snapshot or a frozen copy of a suite that
	// carries one (testing, sid). Archived suites always get it.
	NoCheckValidUntil bool
}

// Host is what pkgbox reads from the machine to plan a create. Tests point
// it at fixtures.
type Host struct {
	// AptDir holds the host's apt sources (sources.list, sources.list.d/).
	AptDir string
	// ListsDir is apt's lists directory, whose Release files say whose
	// each repository of the sources is.
	ListsDir string
	// ScriptsDir holds debootstrap's suite scripts.
	ScriptsDir string
	// BinfmtDir is where binfmt_misc is mounted.
	BinfmtDir string
	// Arch is the host's Debian architecture.
	Arch string
	// ArchTest is the path of arch-test, or "" when it is not installed.
	ArchTest string
	// ArchiveKeyring is the keyring archived suites are checked with when
	// the user names none: RemovedKeysKeyring on a real host ("" means that
	// too); a test's own key for a test archive.
	ArchiveKeyring string
}

// DefaultHost describes this machine.
func DefaultHost() *Host {
	h := &Host{
		AptDir:         "/etc/apt",
		ListsDir:       "/var/lib/apt/lists",
		ScriptsDir:     "/usr/share/debootstrap/scripts",
		BinfmtDir:      "/proc/sys/fs/binfmt_misc",
		Arch:           HostArch(),
		ArchiveKeyring: RemovedKeysKeyring,
	}
	if p, err := exec.LookPath("arch-test"); err == nil {
		h.ArchTest = p
	}
	return h
}

// Plan is a checked Request with every default and choice resolved: all
// that running debootstrap and finishing the root need.
type Plan struct {
	Name string
	// Suite is what debootstrap gets: the codename, or an unknown suite as typed.
	Suite string
	// Known says the suite is in pkgbox's table.
	Known bool
	// Archived suites get the archive mirror, the removed-keys keyring and
	// no Valid-Until check in the root's apt.
	Archived   bool
	Arch       string
	Variant    string
	Components []string
	Include    []string
	// Mirror is the URL to bootstrap from; "" leaves debootstrap's default.
	Mirror string
	// MirrorOrigin says where Mirror came from, for messages.
	MirrorOrigin string
	// Keyring is "" for debootstrap's choice.
	Keyring    string
	NoCheckGPG bool
	// NoCheckValidUntil: see Request.
	NoCheckValidUntil bool
	// Notes are things the user should be told before the work starts.
	Notes []string
}

// Variants are debootstrap's variants; "default" is its own default set
// (the Priority: important packages), passed as no --variant at all.
var Variants = []string{"buildd", "minbase", "fakechroot", "default"}

// The patterns are compiled on first use, not when every pkgbox process
// (the sandbox's init included) starts.
var (
	componentRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9._/-]*$`) })
	packageRE   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`) })
)

// NewPlan checks req against the host and resolves its defaults. Nothing is
// downloaded or written; every error here is the user's to fix.
func NewPlan(ctx context.Context, req *Request, h *Host) (*Plan, error) {
	if req.Suite == "" {
		return nil, errors.New("no suite given")
	}
	p := &Plan{Arch: req.Arch, Variant: req.Variant, NoCheckGPG: req.NoCheckGPG, NoCheckValidUntil: req.NoCheckValidUntil}
	suite, known := LookupSuite(req.Suite)
	switch {
	case known:
		p.Suite, p.Known, p.Archived = suite.Codename, true, suite.Archived
	case req.Mirror == "":
		return nil, &UnknownSuiteError{Name: req.Suite}
	default:
		// An unknown suite with --mirror goes to debootstrap as typed, but
		// debootstrap needs a script for it, and says so badly.
		// No "/": the name is joined to ScriptsDir, here and in debootstrap,
		// which sources the file it names ("x/../../../tmp/evil").
		if !componentRE().MatchString(req.Suite) || strings.Contains(req.Suite, "/") {
			return nil, fmt.Errorf("suite %q is not a valid suite name", req.Suite)
		}
		if _, err := os.Stat(filepath.Join(h.ScriptsDir, req.Suite)); err != nil {
			return nil, fmt.Errorf("debootstrap has no script for suite %q in %s", req.Suite, h.ScriptsDir)
		}
		p.Suite = req.Suite
		suite = Suite{Codename: req.Suite}
	}

	if p.Arch == "" {
		p.Arch = h.Arch
	}
	if err := checkArch(ctx, p.Arch, h.Arch, h.BinfmtDir, h.ArchTest); err != nil {
		return nil, err
	}

	p.Name = req.Name
	if p.Name == "" {
		p.Name = strings.ToLower(req.Suite)
		if p.Arch != h.Arch {
			p.Name += "-" + p.Arch
		}
	}
	if err := store.ValidateName(p.Name); err != nil {
		return nil, err
	}

	if p.Variant == "" {
		p.Variant = "buildd"
	}
	if !contains(Variants, p.Variant) {
		return nil, fmt.Errorf("unknown variant %q (known: %s)", p.Variant, strings.Join(Variants, ", "))
	}

	p.Components = req.Components
	if len(p.Components) == 0 {
		p.Components = []string{"main"}
	}
	for _, c := range p.Components {
		if !componentRE().MatchString(c) {
			return nil, fmt.Errorf("component %q is not a valid component name", c)
		}
	}
	for _, pkg := range req.Include {
		if !packageRE().MatchString(pkg) {
			return nil, fmt.Errorf("package %q in --include is not a valid package name", pkg)
		}
	}
	p.Include = req.Include

	if err := p.chooseKeyring(req, h.ArchiveKeyring); err != nil {
		return nil, err
	}

	var sources []Source
	if req.Mirror == "" {
		var err error
		sources, err = ReadHostSources(h.AptDir)
		if err != nil {
			p.Notes = append(p.Notes, fmt.Sprintf("some of the host's apt sources were skipped: %v", err))
		}
	}
	mirror, origin, err := chooseMirror(req.Mirror, suite, sources, h.ScriptsDir, h.ListsDir)
	if err != nil {
		return nil, err
	}
	p.Mirror, p.MirrorOrigin = mirror, origin
	if p.Archived {
		p.Notes = append(p.Notes, fmt.Sprintf("%s is archived: bootstrapping from %s (%s), checked with %s; apt in the root will not check Valid-Until",
			p.Suite, p.Mirror, origin, p.keyringName()))
	}
	return p, nil
}

// chooseKeyring sets the keyring: the user's, else archiveKeyring (the
// removed-keys keyring) for archived suites, else debootstrap's own choice
// for the suite.
func (p *Plan) chooseKeyring(req *Request, archiveKeyring string) error {
	switch {
	case req.NoCheckGPG && req.Keyring != "":
		return errors.New("--keyring and --no-check-gpg contradict each other")
	case req.NoCheckGPG:
		p.Notes = append(p.Notes, "the Release file's signature will not be checked (--no-check-gpg)")
		return nil
	case req.Keyring != "":
		p.Keyring = req.Keyring
	case p.Archived:
		p.Keyring = archiveKeyring
		if p.Keyring == "" {
			p.Keyring = RemovedKeysKeyring
		}
	default:
		return nil
	}
	if _, err := os.Stat(p.Keyring); err != nil {
		return &KeyringError{Path: p.Keyring, Err: err}
	}
	return nil
}

func (p *Plan) keyringName() string {
	if p.Keyring == "" {
		return "debootstrap's keyring"
	}
	return p.Keyring
}

// KeyringError is a keyring file that cannot be read.
type KeyringError struct {
	Path string
	Err  error
}

func (e *KeyringError) Error() string { return fmt.Sprintf("read keyring %q: %v", e.Path, e.Err) }
func (e *KeyringError) Unwrap() error { return e.Err }

// Hint names the package that ships Debian's keyrings.
func (e *KeyringError) Hint() string {
	if e.Path == RemovedKeysKeyring {
		return "install debian-archive-keyring, which ships it, or give --keyring (or --no-check-gpg, to not check at all)"
	}
	return "give the path of an existing keyring with --keyring"
}

// Args is debootstrap's argument list for p, writing into target and
// keeping downloaded packages in cacheDir. It is a pure function of its
// inputs (golden-tested).
//
// --debian-installer makes debootstrap report structured progress with real
// totals on fd 3 (see ParseProgress) and its full log on stdout/stderr.
// --force-check-gpg makes a missing keyring an error instead of a silent
// unchecked bootstrap: only --no-check-gpg may skip the check.
func (p *Plan) Args(cacheDir, target string) []string {
	args := []string{"debootstrap", "--debian-installer"}
	if p.Variant != "default" {
		args = append(args, "--variant="+p.Variant)
	}
	args = append(args, "--arch="+p.Arch, "--components="+strings.Join(p.Components, ","))
	if len(p.Include) > 0 {
		args = append(args, "--include="+strings.Join(p.Include, ","))
	}
	switch {
	case p.NoCheckGPG:
		args = append(args, "--no-check-gpg")
	case p.Keyring != "":
		args = append(args, "--keyring="+p.Keyring, "--force-check-gpg")
	default:
		args = append(args, "--force-check-gpg")
	}
	args = append(args, "--cache-dir="+cacheDir, p.Suite, target)
	if p.Mirror != "" {
		args = append(args, p.Mirror)
	}
	return args
}

// DebootstrapSbin are where debootstrap is looked for when PATH has none
// (LookDebootstrap, and doctor): an ordinary user's PATH on Debian has no
// sbin directory.
var DebootstrapSbin = []string{"/usr/sbin/debootstrap", "/sbin/debootstrap"}
