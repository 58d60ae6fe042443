package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"pkgbox/session"
	"pkgbox/store"
)

// UpdateOptions say how an update waits and reports.
type UpdateOptions struct {
	// Wait limits how long to wait for the root's sessions to end; 0 waits
	// until ctx is done.
	Wait time.Duration
	// Log receives apt's output; may be nil.
	Log io.Writer
	// Warn receives warnings such as waiting for the lock.
	Warn func(string)
}

// Update brings root name up to date: apt-get update and dist-upgrade
// inside it, network on, its exclusive lock held (so no session or build
// sees it half-upgraded), its downloads kept in the store's apt cache. The
// time is recorded in the root's metadata.
func Update(ctx context.Context, s *store.Store, name string, o UpdateOptions) (*store.Root, error) {
	meta, err := s.Root(name)
	if err != nil {
		return nil, err
	}
	opts := &session.Options{Store: s, Root: name, Write: true, Profile: "buildd", LockWait: o.Wait, Warn: o.Warn}
	if err := upgrade(ctx, opts, meta.Suite, meta.Arch, name, o.Log); err != nil {
		return nil, err
	}
	meta.Updated = time.Now().UTC()
	if err := s.SaveRoot(meta); err != nil {
		return nil, err
	}
	return meta, nil
}

// AptError is an apt run inside a root that failed.
type AptError struct {
	Root   string
	Status int
	Tail   []string
}

func (e *AptError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "upgrade root %q: apt-get update or dist-upgrade exited with status %d", e.Root, e.Status)
	if len(e.Tail) > 0 {
		b.WriteString("\nlast lines of its output:")
		for _, l := range e.Tail {
			b.WriteString("\n  " + l)
		}
	}
	return b.String()
}

// Hint says what usually helps.
func (e *AptError) Hint() string {
	return "check the network and the root's /etc/apt/sources.list; rerun with -v to see apt's whole output"
}

// InUseError is a root that cannot be removed because sessions use it.
type InUseError struct {
	Root string
	// Kept are the session directories left on the root (kept on purpose,
	// or dead and not yet collected); empty when a running one holds it.
	Kept []string
}

func (e *InUseError) Error() string {
	if len(e.Kept) > 0 {
		return fmt.Sprintf("root %q still has sessions in the store: %s", e.Root, strings.Join(e.Kept, ", "))
	}
	return fmt.Sprintf("root %q is in use by a running session, build or update", e.Root)
}

// Hint says how to free it.
func (e *InUseError) Hint() string {
	if len(e.Kept) > 0 {
		return "remove kept sessions nobody uses with `pkgbox gc --kept`, then try again"
	}
	return "try again when it has ended"
}

// Remove deletes root name: it takes the root's exclusive lock without
// waiting (a running session, build or update makes it refuse), refuses
// while kept sessions are layered on it, and lets the store check the
// host's mount table and stay on the root's file system while deleting.
func Remove(ctx context.Context, s *store.Store, name string) error {
	meta, err := s.Root(name)
	if err != nil {
		return err
	}
	lock, err := s.LockRoot(ctx, name, true, false)
	if errors.Is(err, store.ErrBusy) {
		return &InUseError{Root: name}
	}
	if err != nil {
		return err
	}
	defer lock.Unlock()
	sessions, err := s.Sessions()
	if err != nil {
		return err
	}
	var kept []string
	for _, si := range sessions {
		if si.Root == meta.Path {
			kept = append(kept, si.ID)
		}
	}
	if len(kept) > 0 {
		return &InUseError{Root: name, Kept: kept}
	}
	return s.RemoveRoot(name)
}
