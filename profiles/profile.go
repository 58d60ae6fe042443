// Package profiles reads mount profiles: fstab(5) files, as jchroot and
// schroot use them, that say what a sandbox mounts on top of what it always
// makes itself (its own /proc, a minimal /dev with /dev/pts and /dev/shm).
//
// A profile is parsed and validated in full into []sandbox.Mount before any
// sandbox starts; every error and warning names the file and the line. The
// package makes no syscalls beyond reading files: the sandbox's init makes
// the mounts, each target resolved inside the root.
//
// Profiles are found by name in the user's directory, then the system's,
// then among the built-ins (see Find).
package profiles

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"pkgbox/config"
	"pkgbox/sandbox"
)

// Profile is a parsed fstab.
type Profile struct {
	// Name is the profile's name: the file's name without ".fstab".
	Name string
	// Path is the file as the user named it, or "builtin:NAME".
	Path string
	// Text is the file as read, for `pkgbox profiles show`.
	Text string
	// Entries are the lines that mount something, in file order. Lines the
	// sandbox replaces by its own mounts are not among them (see Warnings).
	Entries []Entry
	// Warnings are one line each, "FILE:LINE: what pkgbox does instead".
	Warnings []string
}

// Entry is one line of a profile that mounts something.
type Entry struct {
	// Mount is what the line mounts; Mount.Origin is "FILE:LINE".
	Mount sandbox.Mount
	// Network is set by the option x-pkgbox.network: the entry is made only
	// when the sandbox has the network.
	Network bool
	// NoAuto is set by the option noauto: the line is checked but never mounted.
	NoAuto bool
}

// Mounts returns the mounts a sandbox makes for p, in order: every entry but
// the noauto ones, and the network-only ones only when network is set.
func (p *Profile) Mounts(network bool) []sandbox.Mount {
	var ms []sandbox.Mount
	for _, e := range p.Entries {
		if e.NoAuto || e.Network && !network {
			continue
		}
		m := e.Mount
		m.Data = slices.Clone(m.Data) // the caller may change its copy
		ms = append(ms, m)
	}
	return ms
}

// LoadFile parses the profile in the file name.
func LoadFile(name string) (*Profile, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("load profile: %w", err)
	}
	defer f.Close()
	// Reading a directory fails with EISDIR on the first read; say it plainly.
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("load profile %q: is a directory, not an fstab file", name)
	}
	return Parse(name, f)
}

// SystemDir holds the profiles an administrator installs for every user. It
// is a variable so that tests can point it at a temporary directory.
var SystemDir = "/etc/pkgbox/profiles"

// Dirs returns the directories Find searches for NAME.fstab, in order: the
// user's ($XDG_CONFIG_HOME/pkgbox/profiles, XDG_CONFIG_HOME defaulting to
// ~/.config; left out when neither it nor a home is known), then SystemDir.
// Under sudo, ~ is the home of SUDO_USER, the user who ran sudo: sudo sets
// HOME to root's, where that user's profiles are not.
func Dirs() []string {
	var dirs []string
	if c := userConfigDir(); c != "" {
		dirs = append(dirs, filepath.Join(c, "pkgbox", "profiles"))
	}
	return append(dirs, SystemDir)
}

// userConfigDir is the invoking user's configuration directory, or "";
// under sudo, that of SUDO_USER (see config.UserConfigDir).
func userConfigDir() string { return config.UserConfigDir() }

// builtinPrefix starts the Path of a built-in profile, in place of a file name.
const builtinPrefix = "builtin:"

//go:embed builtin/*.fstab
var builtinFS embed.FS

// builtinNames returns the names of the built-in profiles, sorted.
func builtinNames() []string {
	ents, _ := builtinFS.ReadDir("builtin") // embedded: cannot fail
	var names []string
	for _, e := range ents {
		names = append(names, strings.TrimSuffix(e.Name(), ".fstab"))
	}
	return names
}

// CheckName checks that name can name a profile: letters, digits, "-", "_"
// and "." only, not starting with "." (so no path and no hidden file).
func CheckName(name string) error {
	ok := name != "" && len(name) <= 64 && name[0] != '.'
	for _, r := range name {
		ok = ok && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
	}
	if !ok {
		return fmt.Errorf("bad profile name %q: use up to 64 letters, digits, \"-\", \"_\" and \".\", not starting with \".\"", name)
	}
	return nil
}

// Find returns the profile called name: the first NAME.fstab in Dirs, else
// the built-in one. A file that exists but does not parse is an error: it
// never falls back to a profile further down the search order.
func Find(name string) (*Profile, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	for _, dir := range Dirs() {
		p, err := LoadFile(filepath.Join(dir, name+".fstab"))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		p.Name = name
		return p, nil
	}
	if b, err := builtinFS.ReadFile("builtin/" + name + ".fstab"); err == nil {
		p, err := Parse(builtinPrefix+name, bytes.NewReader(b))
		if err != nil {
			return nil, err // a test keeps this from happening
		}
		p.Name = name
		return p, nil
	}
	known := builtinNames()
	if infos, err := List(); err == nil {
		known = known[:0]
		for _, i := range infos {
			if !i.Shadowed {
				known = append(known, i.Name)
			}
		}
	}
	return nil, &UnknownError{Name: name, Known: known, Dirs: Dirs()}
}

// UnknownError is Find's error for a name that no profile has.
type UnknownError struct {
	// Name is the name asked for.
	Name string
	// Known are the names of the profiles there are, sorted.
	Known []string
	// Dirs are the directories searched, in order.
	Dirs []string
}

// Error names the profile asked for and the ones there are.
func (e *UnknownError) Error() string {
	return fmt.Sprintf("unknown profile %q (known: %s)", e.Name, strings.Join(e.Known, ", "))
}

// Hint says where to look, and where a new profile goes; pkgbox prints it on
// a line of its own.
func (e *UnknownError) Hint() string {
	return fmt.Sprintf("see them with `pkgbox profiles list`; to add one, write %s.fstab in %s",
		e.Name, strings.Join(e.Dirs, " or "))
}

// Info describes one profile that Find can reach, or could but for another
// of the same name earlier in the search order.
type Info struct {
	// Name is the profile's name.
	Name string
	// Path is its file, or "builtin:NAME".
	Path string
	// Shadowed is set when a profile of the same name earlier in the search
	// order hides this one.
	Shadowed bool
}

// List returns every profile in Dirs and the built-ins, sorted by name and,
// for one name, in search order (so the first is the one Find returns).
// Files whose names are no valid profile name are left out: Find cannot
// reach them. Profiles are listed, not parsed.
func List() ([]Info, error) {
	var infos []Info
	seen := map[string]bool{}
	add := func(name, path string) {
		infos = append(infos, Info{Name: name, Path: path, Shadowed: seen[name]})
		seen[name] = true
	}
	for _, dir := range Dirs() {
		ents, err := os.ReadDir(dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list profiles: %w", err)
		}
		for _, e := range ents {
			name, ok := strings.CutSuffix(e.Name(), ".fstab")
			if ok && !e.IsDir() && CheckName(name) == nil {
				add(name, filepath.Join(dir, e.Name()))
			}
		}
	}
	for _, name := range builtinNames() {
		add(name, builtinPrefix+name)
	}
	slices.SortStableFunc(infos, func(a, b Info) int { return strings.Compare(a.Name, b.Name) })
	return infos, nil
}
