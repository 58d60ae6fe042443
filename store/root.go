package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Root is the metadata recorded beside a root in roots/NAME.json.
type Root struct {
	Name       string    `json:"name"`
	Suite      string    `json:"suite"`
	Arch       string    `json:"arch"`
	Variant    string    `json:"variant"`
	Mirror     string    `json:"mirror,omitempty"`
	Components []string  `json:"components,omitempty"`
	Created    time.Time `json:"created"`
	Updated    time.Time `json:"updated,omitzero"`
	// Debootstrap is the version of debootstrap that made the root.
	Debootstrap string `json:"debootstrap,omitempty"`
	// Generation counts the sessions that wrote to the root (update, shell
	// --write): with Created and Updated it says whether a build-dependency
	// layer made on the root still fits it (see GenerationID).
	Generation int `json:"generation,omitempty"`

	// Path is the root's file system on the host; not stored.
	Path string `json:"-"`
}

// Root reads root NAME's metadata. A missing root gives an error wrapping ErrNoRoot.
func (s *Store) Root(name string) (*Root, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(s.metaPath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("root %q: %w", name, ErrNoRoot)
	}
	if err != nil {
		return nil, fmt.Errorf("read root %q: %w", name, err)
	}
	var r Root
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("read %s: %w", s.metaPath(name), err)
	}
	r.Name = name
	r.Path = s.RootPath(name)
	return &r, nil
}

// GenerationID names the root's contents as they are now: it changes when
// the root is made again, updated, or written to by a --write session, so
// a layer recorded with another one was made on different files.
func (r *Root) GenerationID() string {
	return fmt.Sprintf("%s/%s/%d", r.Created.UTC().Format(time.RFC3339Nano), r.Updated.UTC().Format(time.RFC3339Nano), r.Generation)
}

// BumpGeneration records that root NAME is about to change (see
// GenerationID). The caller holds the root's exclusive lock.
func (s *Store) BumpGeneration(name string) error {
	r, err := s.Root(name)
	if err != nil {
		return err
	}
	r.Generation++
	return s.SaveRoot(r)
}

// Roots lists the roots that have metadata, sorted by name.
func (s *Store) Roots() ([]*Root, error) {
	entries, err := os.ReadDir(filepath.Join(s.Dir, "roots"))
	if err != nil {
		return nil, fmt.Errorf("list roots: %w", err)
	}
	var roots []*Root
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || e.IsDir() {
			continue
		}
		r, err := s.Root(name)
		if err != nil {
			return nil, err
		}
		roots = append(roots, r)
	}
	sort.Slice(roots, func(i, j int) bool { return roots[i].Name < roots[j].Name })
	return roots, nil
}

// SaveRoot writes r's metadata atomically: a crash leaves the old file or the
// new one, never a torn one.
func (s *Store) SaveRoot(r *Root) error {
	if err := ValidateName(r.Name); err != nil {
		return err
	}
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encode root %q: %w", r.Name, err)
	}
	return WriteFileAtomic(s.metaPath(r.Name), append(data, '\n'), 0o644)
}

// Install moves a complete root from dir (made by TempDir) to roots/NAME and
// records r. It never replaces an existing root.
func (s *Store) Install(dir string, r *Root) error {
	if err := ValidateName(r.Name); err != nil {
		return err
	}
	if _, err := os.Stat(s.metaPath(r.Name)); err == nil {
		return fmt.Errorf("install root %q: %w", r.Name, fs.ErrExist)
	}
	// RENAME_NOREPLACE: a plain rename would silently replace an empty
	// directory of the same name, and lose a race between two creates.
	err := unix.Renameat2(unix.AT_FDCWD, dir, unix.AT_FDCWD, s.RootPath(r.Name), unix.RENAME_NOREPLACE)
	if err != nil {
		return fmt.Errorf("install root %q: %w", r.Name, err)
	}
	if err := s.SaveRoot(r); err != nil {
		// Put it back rather than leave a root without metadata.
		_ = os.Rename(s.RootPath(r.Name), dir)
		return err
	}
	return nil
}

// RemoveRoot deletes root NAME, its metadata, its build-dependency
// layers and its compiler caches. The caller holds the root's exclusive lock. Nothing is deleted if anything is mounted under the root,
// and deletion never crosses into another file system.
func (s *Store) RemoveRoot(name string) error {
	if _, err := s.Root(name); err != nil {
		return err
	}
	// Metadata first: a root without metadata is not listed or used, so an
	// interrupted removal cannot leave a half-deleted root that looks whole.
	if err := os.Remove(s.metaPath(name)); err != nil {
		return fmt.Errorf("remove root %q: %w", name, err)
	}
	if err := RemoveTree(s.RootPath(name)); err != nil {
		return fmt.Errorf("remove root %q: %w", name, err)
	}
	// Its layers and compiler caches: no session uses them, as none holds
	// the root's lock.
	return errors.Join(s.removeLayersOf(name), s.removeCcachesOf(name))
}

// WriteFileAtomic writes data to a temporary file beside path, syncs it and
// renames it over path.
func WriteFileAtomic(path string, data []byte, perm fs.FileMode) (retErr error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if retErr != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
