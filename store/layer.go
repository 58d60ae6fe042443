package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"golang.org/x/sys/unix"
)

// A build-dependency layer is what installing one build's dependencies
// changed in its session (the overlay's upper directory), kept read-only
// so later builds with the same dependencies mount it between the root and
// their own upper directory instead of installing again:
//
//	layers/KEY/fs/          the layer's files, whiteouts included
//	layers/KEY/layer.json   its metadata (Layer)
//	layers/KEY/lock         flock: shared while a session mounts it, exclusive to remove it
//	layers/KEY/used         its modification time is the layer's last use
//	layers/tmp/NAME/        a layer being made, with NAME.lock held beside it
//
// A layer is complete before it is visible: it is assembled under
// layers/tmp and renamed into place with RENAME_NOREPLACE, so a killed
// pkgbox leaves at most a directory under layers/tmp, which is never used
// and which GCLayers removes.

// Layer is a build-dependency layer's metadata.
type Layer struct {
	Key string `json:"key"`
	// Root and RootGeneration are the root the layer was made on and its
	// Root.GenerationID then: on any other, the layer is stale.
	Root           string   `json:"root"`
	RootGeneration string   `json:"root_generation"`
	Arch           string   `json:"arch"`
	Profiles       []string `json:"profiles,omitempty"`
	Depends        string   `json:"depends"`
	Conflicts      string   `json:"conflicts,omitempty"`
	// Packages is how many packages the layer installed over the root.
	Packages int `json:"packages"`
	// InstalledList is every package installed with the layer mounted,
	// root's included, sorted ("name:arch version"): the build environment
	// a build that reuses the layer logs. Installed is its SHA256.
	InstalledList []string  `json:"installed"`
	Installed     string    `json:"installed_sha256"`
	Size          int64     `json:"size"`
	Created       time.Time `json:"created"`

	// Dir is layers/KEY (not stored). LastUsed is the time of the last
	// build that used or made the layer: the mtime of its file "used",
	// which a use touches, never layer.json, which is written once.
	Dir      string    `json:"-"`
	LastUsed time.Time `json:"last_used,omitzero"`
}

// FS is the directory of the layer's files, to stack over its root.
func (l *Layer) FS() string { return filepath.Join(l.Dir, "fs") }

// ErrNoLayer is returned (wrapped) for a layer the store does not have.
var ErrNoLayer = errors.New("no such layer")

// ErrLayerExists is returned (wrapped) by Publish when another build made
// the same layer first.
var ErrLayerExists = errors.New("layer exists already")

// validLayerKey accepts what LayerKey-style hashes look like: lowercase
// hex, so a key is always one harmless path component (never "tmp").
func validLayerKey(key string) bool {
	if len(key) < 16 || len(key) > 64 {
		return false
	}
	for _, r := range key {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

func (s *Store) layerDir(key string) string { return filepath.Join(s.Dir, "layers", key) }

// OpenLayer finds layer KEY and takes its shared lock, which the caller
// holds as long as a sandbox may mount the layer: GC and removal leave a
// locked layer alone. The layer's last use is set to now.
func (s *Store) OpenLayer(key string) (*Layer, *Lock, error) {
	if !validLayerKey(key) {
		return nil, nil, fmt.Errorf("layer %q: %w", key, ErrNoLayer)
	}
	dir := s.layerDir(key)
	lockPath := filepath.Join(dir, "lock")
	f, err := os.OpenFile(lockPath, os.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("layer %s: %w", key, ErrNoLayer)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("open layer %s: %w", key, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) { // being removed right now
			return nil, nil, fmt.Errorf("layer %s: %w", key, ErrNoLayer)
		}
		return nil, nil, fmt.Errorf("lock layer %s: %w", key, err)
	}
	lock := &Lock{f: f}
	// A removal renames the layer away before it lets go of the lock: the
	// lock file must still be the one at the layer's path.
	if !sameFile(f, lockPath) {
		lock.Unlock()
		return nil, nil, fmt.Errorf("layer %s: %w", key, ErrNoLayer)
	}
	l, err := readLayer(dir)
	if err != nil {
		lock.Unlock()
		return nil, nil, err
	}
	now := time.Now()
	if err := os.Chtimes(filepath.Join(dir, "used"), now, now); err == nil {
		l.LastUsed = now
	}
	return l, lock, nil
}

// sameFile says whether f is the file at path.
func sameFile(f *os.File, path string) bool {
	var a, b unix.Stat_t
	if unix.Fstat(int(f.Fd()), &a) != nil || unix.Lstat(path, &b) != nil {
		return false
	}
	return a.Dev == b.Dev && a.Ino == b.Ino
}

func readLayer(dir string) (*Layer, error) {
	data, err := os.ReadFile(filepath.Join(dir, "layer.json"))
	if err != nil {
		return nil, fmt.Errorf("read layer %s: %w", filepath.Base(dir), err)
	}
	var l Layer
	if err := json.Unmarshal(data, &l); err != nil {
		return nil, fmt.Errorf("read layer %s: %w", filepath.Base(dir), err)
	}
	l.Dir = dir
	if fi, err := os.Lstat(filepath.Join(dir, "used")); err == nil {
		l.LastUsed = fi.ModTime()
	}
	return &l, nil
}

// Layers lists the store's complete layers, oldest use first.
func (s *Store) Layers() ([]*Layer, error) {
	entries, err := os.ReadDir(filepath.Join(s.Dir, "layers"))
	if err != nil {
		return nil, fmt.Errorf("list layers: %w", err)
	}
	var out []*Layer
	for _, e := range entries {
		if !e.IsDir() || !validLayerKey(e.Name()) {
			continue
		}
		l, err := readLayer(s.layerDir(e.Name()))
		if err != nil {
			continue // being removed meanwhile
		}
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].LastUsed.Before(out[j].LastUsed) })
	return out, nil
}

// LayerTemp is a layer being made under layers/tmp.
type LayerTemp struct {
	// Temp gives Path, the directory, and Remove, as for a root being made.
	Temp
	s *Store
}

// NewLayerTemp makes a directory under layers/tmp for a layer, with a held
// lock beside it so that GC can tell one whose pkgbox died.
func (s *Store) NewLayerTemp() (*LayerTemp, error) {
	dir, err := os.MkdirTemp(filepath.Join(s.Dir, "layers", "tmp"), "layer.")
	if err != nil {
		return nil, fmt.Errorf("create layer: %w", err)
	}
	lock, err := lockFile(context.Background(), dir+".lock", true, false)
	if err != nil {
		_ = os.Remove(dir)
		return nil, fmt.Errorf("create layer: %w", err)
	}
	return &LayerTemp{Temp: Temp{Path: dir, lock: lock}, s: s}, nil
}

// Publish makes upper, the upper directory of a session whose sandboxes
// have all ended, the files of layer l.Key: it moves upper into the
// temporary directory, writes the metadata, syncs the file system (the
// session's overlay is mounted volatile and never synced) and renames the
// whole into layers/KEY, never over an existing one. It returns the layer
// with its shared lock taken. On ErrLayerExists (another build was first)
// and on any other error, upper is back where it was.
func (t *LayerTemp) Publish(upper string, l *Layer) (_ *Layer, _ *Lock, retErr error) {
	if !validLayerKey(l.Key) {
		return nil, nil, fmt.Errorf("publish layer %q: bad key", l.Key)
	}
	dst := t.s.layerDir(l.Key)
	if _, err := os.Lstat(dst); err == nil {
		return nil, nil, fmt.Errorf("publish layer %s: %w", l.Key, ErrLayerExists)
	}
	fsDir := filepath.Join(t.Path, "fs")
	if err := os.Rename(upper, fsDir); err != nil {
		return nil, nil, fmt.Errorf("publish layer %s: %w", l.Key, err)
	}
	defer func() {
		if retErr != nil {
			_ = os.Rename(fsDir, upper)
		}
	}()
	size, err := DiskUsage(fsDir)
	if err != nil {
		return nil, nil, err
	}
	l.Size, l.Created = size, time.Now().UTC()
	data, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return nil, nil, fmt.Errorf("publish layer %s: %w", l.Key, err)
	}
	if err := os.WriteFile(filepath.Join(t.Path, "layer.json"), append(data, '\n'), 0o644); err != nil {
		return nil, nil, fmt.Errorf("publish layer %s: %w", l.Key, err)
	}
	if err := os.WriteFile(filepath.Join(t.Path, "used"), nil, 0o644); err != nil {
		return nil, nil, fmt.Errorf("publish layer %s: %w", l.Key, err)
	}
	// The lock is taken before the layer is visible: GC cannot remove it
	// between its publication and its first use.
	lock, err := lockFile(context.Background(), filepath.Join(t.Path, "lock"), false, false)
	if err != nil {
		return nil, nil, fmt.Errorf("publish layer %s: %w", l.Key, err)
	}
	defer func() {
		if retErr != nil {
			lock.Unlock()
		}
	}()
	if err := syncFS(t.Path); err != nil {
		return nil, nil, fmt.Errorf("publish layer %s: %w", l.Key, err)
	}
	err = unix.Renameat2(unix.AT_FDCWD, t.Path, unix.AT_FDCWD, dst, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY) {
		return nil, nil, fmt.Errorf("publish layer %s: %w", l.Key, ErrLayerExists)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("publish layer %s: %w", l.Key, err)
	}
	_ = syncFS(filepath.Dir(dst))
	l.Dir, l.LastUsed = dst, time.Now()
	return l, lock, nil
}

// syncFS flushes the file system that holds dir.
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}

// LayerInUseError is a layer that a running or kept session uses.
type LayerInUseError struct {
	Key string
	// Session is the kept session on it, or "" for a running one.
	Session string
}

func (e *LayerInUseError) Error() string {
	if e.Session != "" {
		return fmt.Sprintf("layer %s is used by kept session %s", e.Key, e.Session)
	}
	return fmt.Sprintf("layer %s is %v", e.Key, ErrBusy)
}

func (e *LayerInUseError) Unwrap() error { return ErrBusy }

// RemoveLayer deletes layer KEY unless a session uses it: a running one
// (its lock is held) or a kept one (its session.json names the layer).
func (s *Store) RemoveLayer(key string) error {
	if !validLayerKey(key) {
		return fmt.Errorf("layer %q: %w", key, ErrNoLayer)
	}
	dir := s.layerDir(key)
	l, err := lockFile(context.Background(), filepath.Join(dir, "lock"), true, false)
	if errors.Is(err, ErrBusy) {
		return &LayerInUseError{Key: key}
	}
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("layer %s: %w", key, ErrNoLayer)
	}
	if err != nil {
		return fmt.Errorf("remove layer %s: %w", key, err)
	}
	defer l.Unlock()
	sessions, err := s.Sessions()
	if err != nil {
		return err
	}
	for _, si := range sessions {
		for _, low := range si.Lower {
			if filepath.Dir(low) == dir {
				return &LayerInUseError{Key: key, Session: si.ID}
			}
		}
	}
	// Away from its name first, under the lock: a build that opens the
	// lock file meanwhile finds it is no longer the layer's (OpenLayer).
	gone, err := os.MkdirTemp(filepath.Join(s.Dir, "layers", "tmp"), "removed.")
	if err != nil {
		return fmt.Errorf("remove layer %s: %w", key, err)
	}
	target := filepath.Join(gone, key)
	if err := os.Rename(dir, target); err != nil {
		_ = os.Remove(gone)
		return fmt.Errorf("remove layer %s: %w", key, err)
	}
	if err := RemoveTree(gone); err != nil {
		return fmt.Errorf("remove layer %s: %w", key, err)
	}
	return nil
}
