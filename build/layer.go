package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"pkgbox/sandbox"
	"pkgbox/session"
	"pkgbox/store"
)

// Build-dependency layers (issue 12). A build's dependency install changes
// only its session's upper directory; once it is done, that directory
// becomes a read-only layer of the store (store.Layer), and the session
// goes on with the layer stacked over the root under a fresh upper, so its
// files are exactly as they were. A later build whose dependencies come to
// the same mounts the layer and installs nothing.
//
// Finding the layer costs no apt run: its key hashes everything that
// decides the install's outcome (layerKeyText), and apt resolves the same
// dependencies against the same root and the same lists to the same
// packages. Reusing it costs no sandbox either: the layer records the
// packages installed with it, which the build logs as its environment.

// layerFormat is part of every key: raise it when what a layer holds, or
// how it is made, changes, so that older layers are never used again.
const layerFormat = "2"

// LayerUse says what a build did with a build-dependency layer.
type LayerUse struct {
	Key string `json:"key"`
	// Action is "reused" or "made".
	Action string `json:"action"`
	// Packages is how many packages the layer installs over the root.
	Packages int `json:"packages"`
}

// layerKeyText is what a layer's key hashes: the root as it is now
// (its generation changes with every update, --write session or
// recreate), the architecture and build profiles, the reduced build
// dependencies and conflicts, the install method, the contents of the
// extra packages (--extra-package), and the identity of the root's apt lists (every file's name, size and time), which decide which
// versions apt picks.
//
// A build with extra repositories or a foreign host architecture adds
// them, the keys' contents and the hash of every apt list in its session
// after their update (extra); other builds' keys stay as they were.
func layerKeyText(root *store.Root, p *depsPlan, profiles []string, lists string, extra []string, salt string) string {
	prof := append([]string(nil), profiles...)
	sort.Strings(prof)
	method := "auto"
	if p.Dummy {
		method = "dummy"
	}
	return strings.Join(append(append([]string{
		"pkgbox build-dependency layer " + layerFormat,
		"root " + root.Name,
		"generation " + root.GenerationID(),
		"arch " + p.Arch,
		"profiles " + strings.Join(prof, " "),
		"depends " + p.Depends,
		"conflicts " + p.Conflicts,
		"method " + method,
		// In the order given, which is the order dpkg installs them in.
		"extra " + strings.Join(p.ExtraSHA256, " "),
		"lists " + lists,
	}, extra...), "salt "+salt), "\n") + "\n"
}

func hashString(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// listsID identifies the root's apt lists by each file's name, size and
// modification time.
func listsID(rootPath string) (string, error) {
	dir := filepath.Join(rootPath, "var", "lib", "apt", "lists")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("read the root's apt lists: %w", err)
	}
	var b strings.Builder
	for _, e := range entries {
		if !e.Type().IsRegular() || e.Name() == "lock" {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return "", fmt.Errorf("read the root's apt lists: %w", err)
		}
		fmt.Fprintf(&b, "%s %d %d\n", e.Name(), fi.Size(), fi.ModTime().UnixNano())
	}
	return hashString(b.String()), nil
}

// layerKey is the key of the layer that the install of p would make, or
// "" with the reason why this build neither uses nor makes one.
// extraLists is the hash of the session's apt lists after the extra
// sources were added, or "" without extra sources.
func (b *builder) layerKey(p *depsPlan, extraLists string) (key, why string) {
	switch {
	case b.req.NoLayers:
		return "", "--no-layers"
	case p.UpdateLists:
		return "", "the root's package lists are old (pkgbox update renews them)"
	}
	root, err := b.req.Store.Root(b.res.Root)
	if err != nil {
		return "", "the root is not one of the store's"
	}
	lists, err := listsID(root.Path)
	if err != nil {
		return "", err.Error()
	}
	return hashString(layerKeyText(root, p, b.req.Profiles, lists, b.extra.keyText(extraLists), b.req.layerSalt))[:32], ""
}

// installedQuery lists the installed packages, one "name:arch version"
// line each, prefixed by the given word, for parseInstalled.
func installedQuery(prefix string) string {
	return dpkgQuery + ` | sed 's/^/` + prefix + `\t/'`
}

// dpkgQuery lists every package dpkg knows with its status.
const dpkgQuery = `dpkg-query -W -f '${Status}\t${Package}:${Architecture}\t${Version}\n'`

// parseInstalled reads installedQuery's lines for prefix: the sorted
// "name:arch version" of every installed package.
func parseInstalled(out, prefix string) []string {
	var pkgs []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 4 || f[0] != prefix || !strings.HasSuffix(f[1], " installed") {
			continue
		}
		pkgs = append(pkgs, f[2]+" "+f[3])
	}
	sort.Strings(pkgs)
	return pkgs
}

// added is how many of after are not in before.
func added(before, after []string) int {
	had := map[string]bool{}
	for _, p := range before {
		had[p] = true
	}
	n := 0
	for _, p := range after {
		if !had[p] {
			n++
		}
	}
	return n
}

// capture runs script in the session as root, network off, and returns its
// standard output; its standard error goes to the log.
func (b *builder) capture(ctx context.Context, script string) (string, error) {
	var out bytes.Buffer
	err := b.sandboxRun(ctx, &session.Command{
		Args:  []string{"/bin/sh", "-c", script},
		Env:   []string{"DEBIAN_FRONTEND=noninteractive"},
		Stdio: sandbox.Stdio{Stdout: &out},
	})
	return out.String(), err
}

// sealScript ends every dependency install: it removes the install's own
// state, which no build needs and no layer should hold, and lists the
// packages installed before and after.
func sealScript() string {
	return "set -e\n" +
		fmt.Sprintf("[ ! -f %[1]s/before ] || sed 's/^/before\\t/' %[1]s/before\nrm -rf %[1]s\n", depsState) +
		installedQuery("after") + "\n"
}

// reuseLayer mounts layer key in the session when the store has it, and
// says whether it did. A layer whose record does not check out is removed
// (unless a build is using it) and the build installs, then makes it anew.
func (b *builder) reuseLayer(key string) (bool, error) {
	l, lock, err := b.req.Store.OpenLayer(key)
	if errors.Is(err, store.ErrNoLayer) {
		b.log.Printf("pkgbox: no build-dependency layer %s yet: installing, then keeping the result as that layer", key)
		return false, nil
	}
	if err != nil {
		b.log.Printf("warning: %v; installing without it", err)
		return false, nil
	}
	if len(l.InstalledList) == 0 || hashString(strings.Join(l.InstalledList, "\n")) != l.Installed {
		lock.Unlock()
		// Left in place, it would keep every later build of this key
		// from publishing a sound one until gc took it away.
		if err := b.req.Store.RemoveLayer(key); err != nil {
			b.log.Printf("warning: build-dependency layer %s does not fit: its list of installed packages is missing or damaged, and it cannot be removed (%v); installing without it", key, err)
		} else {
			b.log.Printf("warning: build-dependency layer %s does not fit: its list of installed packages is missing or damaged; removed it: installing, then keeping the result as that layer", key)
		}
		return false, nil
	}
	if b.extra.active() {
		// The layer holds the extra sources' files too: the sources
		// step's changes make way for it.
		if err := b.sess.DropLayers(); err != nil {
			lock.Unlock()
			return false, err
		}
	}
	if err := b.sess.UseLayer(l, lock); err != nil {
		return false, err
	}
	b.logInstalled(l.InstalledList)
	b.res.Layer = &LayerUse{Key: key, Action: "reused", Packages: l.Packages}
	b.log.Printf("install build dependencies: reused layer %s (%d packages)", key, l.Packages)
	return true, nil
}

// makeLayer keeps what the install changed as layer key. Failing to is no
// reason to fail the build: it says why in the log and goes on.
func (b *builder) makeLayer(p *depsPlan, key string, before, installed []string) {
	root, err := b.req.Store.Root(b.res.Root)
	if err != nil {
		b.log.Printf("warning: keep build-dependency layer: %v", err)
		return
	}
	n := added(before, installed)
	meta := &store.Layer{Key: key, Root: root.Name, RootGeneration: root.GenerationID(), Arch: p.Arch,
		Profiles: b.req.Profiles, Depends: p.Depends, Conflicts: p.Conflicts, Packages: n,
		InstalledList: installed, Installed: hashString(strings.Join(installed, "\n"))}
	start := time.Now()
	l, err := b.sess.MakeLayer(meta)
	switch {
	case errors.Is(err, store.ErrLayerExists):
		b.log.Printf("pkgbox: layer %s exists already (another build made it meanwhile, or it did not fit); this build goes on with its own install", key)
	case err != nil:
		b.log.Printf("warning: keep build-dependency layer %s: %v", key, err)
	default:
		b.res.Layer = &LayerUse{Key: key, Action: "made", Packages: n}
		b.log.Printf("install build dependencies: made layer %s (%d packages, %.1f MiB, kept in %s)", key, n,
			float64(l.Size)/(1<<20), time.Since(start).Round(time.Millisecond))
	}
}

// logInstalled writes the build environment's packages to the log, as
// sbuild does: what a build was made with, comparable between builds.
func (b *builder) logInstalled(pkgs []string) {
	b.log.Printf("Build environment: %d packages installed", len(pkgs))
	w := io.Writer(b.log)
	for _, p := range pkgs {
		fmt.Fprintf(w, "  %s\n", p)
	}
}
