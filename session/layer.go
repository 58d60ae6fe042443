package session

import (
	"errors"
	"fmt"
	"path/filepath"

	"pkgbox/store"
)

// A session's overlay may stack build-dependency layers of the store
// (store.Layer) between the root and its upper directory; the session
// holds each layer's shared lock while it is open, so that no gc or
// removal takes a layer from under a sandbox.

// lockLayers takes the locks of a kept session's layers.
func (s *Session) lockLayers() error {
	for _, low := range s.dirs.Lower {
		key := filepath.Base(filepath.Dir(low))
		l, lock, err := s.opts.Store.OpenLayer(key)
		if err == nil && l.FS() != low {
			lock.Unlock()
			err = fmt.Errorf("layer %s: %w", key, store.ErrNoLayer)
		}
		if err != nil {
			s.unlockLayers()
			return fmt.Errorf("open session %s: %w", s.dirs.ID, err)
		}
		s.layerLocks = append(s.layerLocks, lock)
	}
	return nil
}

func (s *Session) unlockLayers() {
	for _, l := range s.layerLocks {
		_ = l.Unlock()
	}
	s.layerLocks = nil
}

// UseLayer stacks layer l, whose lock the session now holds, over the root
// from the next command on. The session's upper directory must be empty:
// nothing has run in it yet, or MakeLayer just emptied it.
func (s *Session) UseLayer(l *store.Layer, lock *store.Lock) error {
	if s.dirs == nil {
		lock.Unlock()
		return errors.New("a --write session cannot use a layer")
	}
	if err := s.dirs.SetLower([]string{l.FS()}); err != nil {
		lock.Unlock()
		return err
	}
	s.unlockLayers()
	s.layerLocks = []*store.Lock{lock}
	return nil
}

// DropLayers unstacks the session's layers and empties its upper
// directory: what ran on top of them is lost.
func (s *Session) DropLayers() error {
	if s.dirs == nil {
		return nil
	}
	if err := s.dirs.SetLower(nil); err != nil {
		return err
	}
	s.unlockLayers()
	return s.dirs.ResetUpper()
}

// MakeLayer turns what the session's commands changed so far into layer
// meta.Key of the store, and goes on with that layer under a fresh upper
// directory, so the session's files stay exactly as they were. When
// another pkgbox made the same layer first (store.ErrLayerExists), or on
// any error before the layer is published, the session is as it was.
func (s *Session) MakeLayer(meta *store.Layer) (*store.Layer, error) {
	if s.dirs == nil || len(s.dirs.Lower) > 0 {
		return nil, errors.New("only an overlay session on a bare root can make a layer")
	}
	t, err := s.opts.Store.NewLayerTemp()
	if err != nil {
		return nil, err
	}
	defer t.Remove()
	l, lock, err := t.Publish(s.dirs.Upper, meta)
	if err != nil {
		return nil, err
	}
	if err := s.dirs.ResetUpper(); err != nil {
		lock.Unlock()
		return nil, err
	}
	return l, s.UseLayer(l, lock)
}
