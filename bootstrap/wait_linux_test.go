package bootstrap_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"pkgbox/bootstrap"
	"pkgbox/store"
)

// TestCreateWaitsForTheSameRoot: while another pkgbox makes a root, a
// create of the same name fails at once, or with Wait waits for the other
// to end and then says the root exists (two first builds at once).
func TestCreateWaitsForTheSameRoot(t *testing.T) {
	if _, err := exec.LookPath("debootstrap"); err != nil {
		t.Skip("needs debootstrap")
	}
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	plan := &bootstrap.Plan{Name: "first", Suite: "bookworm", Arch: "amd64", Variant: "buildd"}
	// The other pkgbox, making "first".
	other, err := s.LockRoot(context.Background(), "first", true, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bootstrap.Create(context.Background(), s, plan, bootstrap.CreateOptions{}); err == nil || err.Error() != `root "first" is being made or used by another pkgbox` {
		t.Errorf("create without Wait: %v", err)
	}

	var ev events
	done := make(chan error, 1)
	go func() {
		_, err := bootstrap.Create(context.Background(), s, plan, bootstrap.CreateOptions{Wait: true, Progress: ev.add})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("create with Wait returned while the other holds the root: %v", err)
	case <-time.After(time.Second):
	}
	ev.mu.Lock()
	said := len(ev.all) > 0 && strings.Contains(ev.all[0].Text, `root "first" is being made by another pkgbox: waiting for it`)
	ev.mu.Unlock()
	if !said {
		t.Errorf("no note of the wait: %+v", ev.all)
	}
	// The other create succeeds, and a session starts on the new root at
	// once (a shared lock): the waiting create must not wait for it too.
	if err := os.Mkdir(s.RootPath("first"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveRoot(&store.Root{Name: "first", Suite: "bookworm", Arch: "amd64", Variant: "buildd"}); err != nil {
		t.Fatal(err)
	}
	session, err := s.LockRoot(context.Background(), "first", false, false)
	if err == nil {
		t.Fatal("a session could lock the root while it was being made")
	}
	other.Unlock()
	if session, err = s.LockRoot(context.Background(), "first", false, false); err != nil {
		t.Fatal(err)
	}
	defer session.Unlock()
	select {
	case err := <-done:
		var exists *bootstrap.ExistsError
		if !errors.As(err, &exists) || exists.Name != "first" {
			t.Errorf("create with Wait after the other made the root: %v, want ExistsError", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("create with Wait still waits after the other create ended")
	}
}
