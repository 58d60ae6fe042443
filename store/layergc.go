package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// DefaultMaxLayersSize is how much space the layers may take together
// before GCLayers removes the least recently used ones.
const DefaultMaxLayersSize = 10 << 30

// GCLayers removes what layers/tmp holds of pkgbox processes that died;
// the layers of roots that are gone or have changed since (a recreate, an
// update, a --write session: see Root.GenerationID); and then the least
// recently used layers until the rest take at most maxSize bytes (0: no
// limit). A layer that a running or kept session uses stays. It returns
// what it removed.
func (s *Store) GCLayers(maxSize int64) ([]string, error) {
	var removed []string
	var errs []error
	entries, err := os.ReadDir(filepath.Join(s.Dir, "layers", "tmp"))
	if err != nil {
		return nil, fmt.Errorf("list layers: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(s.Dir, "layers", "tmp", e.Name())
		if ok, err := removeIfUnlocked(dir, dir+".lock", RemoveTree, time.Minute); err != nil {
			errs = append(errs, err)
		} else if ok {
			removed = append(removed, dir)
			_ = os.Remove(dir + ".lock")
		}
	}
	layers, err := s.Layers()
	if err != nil {
		return removed, errors.Join(append(errs, err)...)
	}
	generations := map[string]string{}
	if roots, err := s.Roots(); err == nil {
		for _, r := range roots {
			generations[r.Name] = r.GenerationID()
		}
	} else {
		return removed, errors.Join(append(errs, err)...)
	}
	var kept []*Layer
	for _, l := range layers { // oldest use first
		if gen, ok := generations[l.Root]; ok && gen == l.RootGeneration {
			kept = append(kept, l)
			continue
		}
		switch err := s.RemoveLayer(l.Key); {
		case err == nil:
			removed = append(removed, l.Dir)
		case errors.Is(err, ErrBusy), errors.Is(err, ErrNoLayer):
		default:
			errs = append(errs, err)
		}
	}
	var total int64
	for _, l := range kept {
		total += l.Size
	}
	for _, l := range kept {
		if maxSize <= 0 || total <= maxSize {
			break
		}
		switch err := s.RemoveLayer(l.Key); {
		case err == nil:
			removed = append(removed, l.Dir)
			total -= l.Size
		case errors.Is(err, ErrBusy), errors.Is(err, ErrNoLayer):
		default:
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}

// removeLayersOf removes every layer made on root NAME. The caller holds
// the root's exclusive lock, so no running session mounts one.
func (s *Store) removeLayersOf(name string) error {
	layers, err := s.Layers()
	if err != nil {
		return err
	}
	var errs []error
	for _, l := range layers {
		if l.Root != name {
			continue
		}
		if err := s.RemoveLayer(l.Key); err != nil && !errors.Is(err, ErrNoLayer) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
