package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"pkgbox/sandbox"
	"pkgbox/session"
)

// The dependency install runs in two sandboxes of the build's session, so
// that nothing a package does can reach the store's shared apt cache:
//
//  1. download: network on, the cache bound writable, the cache's lock held.
//     apt resolves the dependencies, every cached .deb it would use is
//     checked against the SHA256 of the root's package lists (apt itself
//     reuses a cached file of the right size without checking it), and the
//     missing ones are downloaded. No maintainer script runs here.
//  2. install: network off, the cache bound read-only, no lock (so other
//     builds may download meanwhile). Maintainer scripts run here and can
//     write nothing that a later build installs.
//
// apt's progress (APT::Status-Fd) goes to descriptor 7 and its own output,
// with every maintainer script's, to stderr and so the log: with the status
// on stdout, apt makes stdout close-on-exec and maintainer scripts that write
// to it die ("Unable to flush stdout: Bad file descriptor", as
// libxml-sax-perl's postinst did).
//
// apt before 1.9 (buster and older) has no `satisfy`: there, as sbuild
// does, the dependencies become those of a dummy package that dpkg installs
// unconfigured and `apt-get -f install` completes.

// depsState is where the download step leaves what the install step needs,
// inside the session (root-owned, out of the build user's /build).
const depsState = "/var/cache/pkgbox-deps"

// dummyPackage is the name of the dummy package of old apt's method.
const dummyPackage = "pkgbox-build-deps"

// depsPlan is one build's dependency install, as the scripts of its two steps.
type depsPlan struct {
	Source    string // the source package, for the dummy's description
	Arch      string
	Depends   string
	Conflicts string
	// Extra are .deb files (paths inside the sandbox) installed after the
	// dependencies, and ExtraSHA256 their contents' hashes and names.
	Extra       []string
	ExtraSHA256 []string
	// UpdateLists runs apt-get update first: the root's lists are old.
	UpdateLists bool
	// Dummy forces the dummy-package method even where apt has satisfy.
	Dummy bool
	// Host is the host architecture of a cross build, or "".
	Host string
	// Pin takes what the preferred suites cannot give from the sources
	// apt does not install from by default (see pinScript).
	Pin bool
	// What names the packages in messages; "" is the build dependencies.
	What string
}

func (p *depsPlan) what() string {
	if p.What == "" {
		return "the build dependencies"
	}
	return p.What
}

// aptOptions are the options of every apt-get call of both steps.
const aptOptions = "-y -q -o APT::Sandbox::User=root -o APT::Install-Recommends=false -o Dpkg::Use-Pty=0 -o Dpkg::Options::=--force-unsafe-io"

// downloadScript is step 1's shell script.
func (p *depsPlan) downloadScript() string {
	var s strings.Builder
	s.WriteString("set -e\n")
	s.WriteString("APT=" + shellQuote([]string{aptOptions}) + "\n")
	fmt.Fprintf(&s, "rm -rf %s && mkdir -p %s/uris/partial\n", depsState, depsState)
	// What the root had, to tell what the install adds (see sealScript).
	fmt.Fprintf(&s, "%s > %s/before\n", dpkgQuery, depsState)
	if p.UpdateLists {
		s.WriteString("echo 'pkgbox: the root'\"'\"'s package lists are missing or old: apt-get update' >&2\n")
		s.WriteString("apt-get update -q >&2\n")
	}
	if p.Dummy {
		s.WriteString("method=dummy\n")
	} else {
		s.WriteString(`if dpkg --compare-versions "$(dpkg-query -W -f '${Version}' apt)" ge 1.9; then method=satisfy; else method=dummy; fi` + "\n")
	}
	fmt.Fprintf(&s, "echo $method > %s/method\n", depsState)
	if p.Host != "" {
		s.WriteString("if [ $method = dummy ]; then echo 'pkgbox: a cross build needs apt 1.9 or later in the root (apt-get satisfy --host-architecture)' >&2; exit 1; fi\n")
	}
	s.WriteString("if [ $method = dummy ]; then\n")
	s.WriteString(p.dummyScript())
	s.WriteString("fi\n")
	s.WriteString(p.resolveFunc())
	if p.Pin {
		s.WriteString(pinScript)
	}
	// What apt would fetch into an empty directory is every file it needs,
	// each with the hash the signed lists give it.
	fmt.Fprintf(&s, "resolve --print-uris -qq -o Acquire::ForceHash=SHA256 -o Dir::Cache::Archives=%s/uris/ > %s/uris/list\n", depsState, depsState)
	// When every file is in the cache and matches, there is nothing to
	// download, and apt need not resolve the dependencies once more to
	// find that out (about half a second).
	fmt.Fprintf(&s, `missing=
while read -r uri file size hash; do
	f=/var/cache/apt/archives/$file
	[ -e "$f" ] || { missing=yes; continue; }
	case ${hash%%%%:*} in SHA256) sum=sha256sum;; SHA512) sum=sha512sum;; SHA1) sum=sha1sum;; MD5Sum) sum=md5sum;; *) sum=;; esac
	if [ -z "$sum" ] || ! echo "${hash#*:}  $f" | $sum -c --status; then
		echo "pkgbox: cached $file does not match the package lists: downloading it again" >&2
		rm -f "$f"
		missing=yes
	fi
done < %s/uris/list
`, depsState)
	// Unsatisfiable dependencies failed above; what fails here is the
	// network, or apt's lock held by a dying apt of a killed pkgbox (whose
	// lock on the cache went with it): worth another try or two.
	s.WriteString("if [ -n \"$missing\" ]; then\n" +
		"n=0; until resolve --download-only -o APT::Status-Fd=7 7>&1 1>&2; do\n" +
		"\tn=$((n+1)); [ $n -lt 3 ] || exit 100; echo 'pkgbox: trying the download again' >&2; sleep 2\ndone\n" +
		"else echo 'pkgbox: every package is in the cache and matches the package lists: nothing to download' >&2; fi\n")
	// All in one apt call: one may depend on another (a -dbgsym package
	// on its package, of the same version).
	if len(p.Extra) > 0 {
		s.WriteString("if [ $method = satisfy ]; then apt-get install $APT --download-only -o APT::Status-Fd=7 " + shellQuote(p.Extra) + " 7>&1 1>&2; fi\n")
	}
	return s.String()
}

// installScript is step 2's shell script.
func (p *depsPlan) installScript() string {
	var s strings.Builder
	s.WriteString("set -e\n")
	// The cache is read-only here; apt's lock file in it cannot be taken,
	// and needs no taking: nothing else uses this session.
	s.WriteString("APT=" + shellQuote([]string{aptOptions + " -o Debug::NoLocking=1 -o APT::Status-Fd=7"}) + "\n")
	fmt.Fprintf(&s, "method=$(cat %s/method)\n", depsState)
	s.WriteString(p.resolveFunc())
	s.WriteString("resolve 7>&1 1>&2\n")
	s.WriteString("if [ $method = dummy ]; then\n")
	fmt.Fprintf(&s, "\tif [ \"$(dpkg-query -W -f '${Status}' %s 2>/dev/null)\" != 'install ok installed' ]; then\n", dummyPackage)
	s.WriteString("\t\techo 'pkgbox: apt removed the dummy package that carries the build dependencies: they cannot be installed together' >&2; exit 1\n\tfi\nfi\n")
	if len(p.Extra) > 0 {
		s.WriteString("if [ $method = satisfy ]; then apt-get install $APT " + shellQuote(p.Extra) + " 7>&1 1>&2\n")
		s.WriteString("else dpkg --force-depends -i " + shellQuote(p.Extra) + " >&2 && apt-get -f install $APT 7>&1 1>&2; fi\n")
	}
	return s.String()
}

// resolveFunc defines the shell function resolve, which runs apt for the
// build dependencies by the chosen method with extra options ("$@").
func (p *depsPlan) resolveFunc() string {
	satisfy := []string{p.Depends}
	if p.Conflicts != "" {
		satisfy = append(satisfy, "Conflicts: "+p.Conflicts)
	}
	host := ""
	if p.Host != "" {
		// Build dependencies for the host architecture, ":native" ones
		// and Multi-Arch: foreign ones for the build's, as sbuild --host.
		host = "--host-architecture " + shellQuote([]string{p.Host}) + " "
	}
	return "resolve() {\n\tif [ $method = satisfy ]; then apt-get satisfy $APT " + host + "\"$@\" " + shellQuote(satisfy) +
		"\n\telse apt-get -f install $APT \"$@\"; fi\n}\n"
}

// pinScript makes apt prefer the main suite and take from the sources it
// does not install from by default (priority under 500: NotAutomatic
// repositories such as experimental, and backports) only what it must, as
// sbuild's aptitude resolver does for experimental. apt's own resolver
// takes a package's candidate version, the preferred suite's, and fails
// when only the other suite's version satisfies a relation. So: resolve as
// apt would; if that fails, pin at 990, to those sources, exactly the
// packages named in apt's unmet "Depends:" lines, and resolve again,
// adding the packages each round names (a versioned dependency of a
// package taken from them), until it resolves or names nothing new. The
// preferences file stays in the session for the install step, and in the
// layer made of it (whose key holds the dependencies and the lists).
const pinScript = `low=$(apt-cache policy | awk '$1 ~ /^[0-9]+$/ && $1 < 500 && $2 != "/var/lib/dpkg/status" { getline; if ($1 == "release") { sub(/^ *release /, ""); n = split($0, f, ","); r = ""; for (i = 1; i <= n; i++) if (f[i] ~ /^[an]=./) r = r (r == "" ? "" : ",") f[i]; if (r != "") print r } }' | sort -u)
if [ -n "$low" ] && ! resolve --simulate > ` + depsState + `/sim 2>&1; then
	echo 'pkgbox: the preferred suites cannot satisfy the build dependencies: taking only what they lack from the repositories apt does not install from by default' >&2
	pinned=
	for round in 1 2 3 4 5 6 7 8 9 10; do
		new=
		for n in $(sed -n 's/^.* Depends: \([a-z0-9][a-z0-9+.-]*\).*/\1/p' ` + depsState + `/sim | sort -u); do
			case " $pinned " in *" $n "*) ;; *) new="$new $n" ;; esac
		done
		[ -n "$new" ] || break
		pinned="${pinned:+$pinned }${new# }"
		for r in $low; do printf 'Package: %s\nPin: release %s\nPin-Priority: 990\n\n' "$pinned" "$r"; done > /etc/apt/preferences.d/pkgbox-extra
		if resolve --simulate > ` + depsState + `/sim 2>&1; then break; fi
	done
	echo "pkgbox: pinned to $(echo $low): $pinned" >&2
fi
`

// dummyScript makes the dummy package and has dpkg install it without its
// dependencies; `apt-get -f install` then brings them. The package has no
// maintainer scripts.
func (p *depsPlan) dummyScript() string {
	control := fmt.Sprintf("Package: %s\nVersion: 1.0\nArchitecture: %s\nMaintainer: pkgbox <root@localhost>\nDescription: build dependencies of %s\n",
		dummyPackage, p.Arch, p.Source)
	if p.Depends != "" {
		control += "Depends: " + p.Depends + "\n"
	}
	if p.Conflicts != "" {
		control += "Conflicts: " + p.Conflicts + "\n"
	}
	d := depsState + "/dummy"
	return fmt.Sprintf("\tmkdir -p %[1]s/DEBIAN\n\tprintf '%%s' %[2]s > %[1]s/DEBIAN/control\n"+
		"\tdpkg-deb --build %[1]s %[3]s/%[4]s.deb >&2\n\tdpkg --force-depends --force-conflicts -i %[3]s/%[4]s.deb >&2\n",
		d, shellQuote([]string{control}), depsState, dummyPackage)
}

// baseDepends are the packages every build installs besides its own
// Build-Depends: what sbuild always adds, the compiler set and fakeroot,
// and ccache for a build through the compiler cache. They are part of the
// layer key (through depsPlan.Depends), so a build with the cache never
// stacks a layer made without ccache, nor the other way round.
func baseDepends(ccache bool) string {
	if ccache {
		return "build-essential, fakeroot, ccache"
	}
	return "build-essential, fakeroot"
}

// installDeps installs the build dependencies in the two steps above.
func (b *builder) installDeps(ctx context.Context) error {
	cross := b.extra.host != ""
	var depends, conflicts string
	var err error
	if cross {
		depends, conflicts, err = crossBuildDeps(b.src, b.arch, b.req.Profiles, b.req.Type)
	} else {
		depends, conflicts, err = buildDeps(b.src, b.arch, b.req.Profiles, b.req.Type)
	}
	if err != nil {
		return err
	}
	// What sbuild always adds: the compiler set and fakeroot (see
	// baseDepends); for a cross build, the build architecture's compiler
	// set, the cross compilers, and the host architecture's C and C++
	// libraries, which dpkg-shlibdeps needs (sbuild adds them too: Debian
	// bug #815172).
	if cross {
		base := fmt.Sprintf("build-essential:native, crossbuild-essential-%[1]s:native, fakeroot, libc-dev:%[1]s, libstdc++-dev:%[1]s", b.arch)
		if b.ccache != nil {
			base += ", ccache:native"
		}
		depends = joinDeps(base, depends)
	} else {
		depends = joinDeps(baseDepends(b.ccache != nil), depends)
	}
	b.log.Printf("Build-Depends (reduced for %s): %s", b.arch, depends)
	if conflicts != "" {
		b.log.Printf("Build-Conflicts (reduced for %s): %s", b.arch, conflicts)
	}
	plan := &depsPlan{Source: b.src.Name, Arch: b.arch, Depends: depends, Conflicts: conflicts,
		UpdateLists: b.listsStale(), Dummy: b.req.dummyDeps, Host: b.extra.host, Pin: len(b.extra.repos) > 0}
	var mounts []sandbox.Mount
	for i, p := range b.req.ExtraPackages {
		// Opened once, never through a symlink, and bound from the
		// descriptor, as the source's own files are (see inputs).
		f, err := openUserFile(p, "extra package")
		if err != nil {
			return err
		}
		defer f.Close()
		inside := fmt.Sprintf("/build/.extra/%d-%s", i, filepath.Base(p))
		sum, err := fileSHA256(f)
		if err != nil {
			return fmt.Errorf("read extra package %q: %w", p, err)
		}
		// The name too: it names the (empty) mount point the layer keeps.
		plan.ExtraSHA256 = append(plan.ExtraSHA256, sum+" "+filepath.Base(p))
		mounts = append(mounts, sandbox.Mount{Type: sandbox.TypeBind, Source: f.Name(), File: f, Target: inside, Flags: sandbox.ReadOnly | sandbox.NoSuid | sandbox.NoDev})
		plan.Extra = append(plan.Extra, inside)
	}
	return b.installPlan(ctx, plan, mounts, "install build dependencies")
}

// installPlan installs what plan names in the two steps above, through a
// layer where layerKey allows one; mounts bind plan's extra packages. The
// build's extra apt sources, if any, are added to the session first.
func (b *builder) installPlan(ctx context.Context, plan *depsPlan, mounts []sandbox.Mount, phase string) error {
	mounts = append(append([]sandbox.Mount(nil), b.extra.aptMounts()...), mounts...)
	var lists string
	if b.extra.active() {
		var err error
		if lists, err = b.addSources(ctx); err != nil {
			return err
		}
	}
	key, why := b.layerKey(plan, lists)
	if key == "" {
		b.log.Printf("pkgbox: no build-dependency layer: %s", why)
	} else if ok, err := b.reuseLayer(key); ok || err != nil {
		return err
	}
	status := &aptStatus{log: b.log, progress: b.progress, phase: phase}
	run := func(script string, network bool, cacheFlags sandbox.MountFlags, cache string) error {
		m := mounts
		if cache != "" {
			m = append(m[:len(m):len(m)], sandbox.Mount{Type: sandbox.TypeBind, Source: cache, Target: "/var/cache/apt/archives", Flags: cacheFlags | sandbox.NoSuid | sandbox.NoDev})
		}
		err := b.sandboxRun(ctx, &session.Command{
			Args:    []string{"/bin/sh", "-c", script},
			Network: network,
			Env:     []string{"DEBIAN_FRONTEND=noninteractive"},
			Mounts:  m,
			Stdio:   sandbox.Stdio{Stdout: status},
		})
		status.flush()
		return err
	}
	cache, unlock, err := b.aptCache(ctx)
	if err != nil {
		return err
	}
	err = run(plan.downloadScript(), true, 0, cache)
	unlock()
	if err != nil {
		return fmt.Errorf("apt could not download %s: %w", plan.what(), err)
	}
	if err := run(plan.installScript(), false, sandbox.ReadOnly, cache); err != nil {
		return fmt.Errorf("apt could not install %s: %w", plan.what(), err)
	}
	out, err := b.capture(ctx, sealScript())
	if err != nil {
		return fmt.Errorf("list the installed packages: %w", err)
	}
	before, installed := parseInstalled(out, "before"), parseInstalled(out, "after")
	b.logInstalled(installed)
	if key != "" {
		b.makeLayer(plan, key, before, installed)
	}
	return nil
}

// aptCache returns the store's apt cache for the root's suite, locked for
// this build's download: apt refuses to share its archive directory
// between two concurrent runs.
func (b *builder) aptCache(ctx context.Context) (string, func(), error) {
	meta, err := b.req.Store.Root(b.res.Root)
	if err != nil || meta.Suite == "" {
		return "", func() {}, nil // a root given by path has no store cache
	}
	return b.req.Store.AptCache(ctx, meta.Suite, meta.Arch)
}

// fileSHA256 hashes f's contents from its start.
func fileSHA256(f *os.File) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, 1<<62)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
