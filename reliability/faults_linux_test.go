package reliability_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"pkgbox/internal/testenv"
	"pkgbox/session"
	"pkgbox/store"
)

// faultStore makes a store of the suite's own, so that its checks never
// see the processes and sessions of other tests running at the same time.
// Its root "test" and its apt cache are hard-linked copies of the shared
// test store's: sessions only ever read a root (the overlay's lower layer)
// and apt replaces cached files by renaming, so the copies cost nothing and
// change nothing of the originals. Nothing here writes to "test" itself.
func faultStore(t *testing.T) string {
	t.Helper()
	shared := sharedStore(t)
	dir, err := os.MkdirTemp("/var/tmp", "pkgbox-reliability-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := store.RemoveTree(dir); err != nil {
			t.Errorf("remove the suite's store: %v", err)
		}
	})
	if _, err := store.Open(dir); err != nil {
		t.Fatal(err)
	}
	for _, c := range [][]string{
		{"cp", "-al", filepath.Join(shared, "roots", testenv.RootName), filepath.Join(dir, "roots", "test")},
		{"cp", "-a", filepath.Join(shared, "roots", testenv.RootName+".json"), filepath.Join(dir, "roots", "test.json")},
		{"cp", "-al", filepath.Join(shared, "cache", "apt"), filepath.Join(dir, "cache")},
	} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", c, err, out)
		}
	}
	// Not apt's lock files, though: a hard link is the same file, and apt
	// running in the shared store (another test's build) would hold this
	// store's lock too ("Could not get lock /var/cache/apt/archives/lock.
	// It is held by process 0").
	locks, _ := filepath.Glob(filepath.Join(dir, "cache", "apt", "*", "lock"))
	for _, l := range locks {
		if err := os.Remove(l); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestFaults interrupts each command at random moments and checks, after
// each interrupt, that nothing is left and the store still works.
func TestFaults(t *testing.T) {
	testenv.Require(t, testenv.Root, testenv.Net)
	dir := faultStore(t)
	pkgs, _ := filepath.Abs(filepath.Join("..", "testdata", "packages"))

	t.Run("run", func(t *testing.T) {
		// A payload with a daemon and a child, interrupted from its start
		// (before the sandbox exists) to its middle.
		for i := 0; i < *rounds; i++ {
			sig, out := interrupt(t, dir, 1500*time.Millisecond, "run", "test", "--", "/bin/sh", "-c", "setsid sleep 60 & sleep 30 & sleep 5")
			interrupted("run")
			checkClean(t, dir, fmt.Sprintf("run round %d (%v)", i, sig))
			if sig == 0 {
				t.Logf("run round %d ended before its signal: %s", i, out)
			}
		}
	})

	t.Run("build", func(t *testing.T) {
		src := copyPackage(t, pkgs, "hello-c")
		for i := 0; i < *rounds; i++ {
			out := t.TempDir()
			sig, _ := interrupt(t, dir, 12*time.Second, "build", src, "--root", "test", "--out", out)
			interrupted("build")
			checkClean(t, dir, fmt.Sprintf("build round %d (%v)", i, sig))
			checkNoPartial(t, out)
		}
		// The next build on the same root succeeds.
		if out, err := pkgbox(dir, "build", src, "--root", "test", "--out", t.TempDir()).CombinedOutput(); err != nil {
			t.Fatalf("build after the interrupts: %v\n%s", err, out)
		}
		checkClean(t, dir, "build after the interrupts")
	})

	t.Run("concurrent-builds", func(t *testing.T) {
		// Four builds on one root at once, and a remove of the root while
		// they run, which must be refused.
		var wg sync.WaitGroup
		errs := make([]error, 4)
		outs := make([][]byte, 4)
		for i := range errs {
			src := copyPackage(t, pkgs, []string{"hello-c", "hello-all", "needs-deps", "hello-c"}[i])
			wg.Add(1)
			go func() {
				defer wg.Done()
				outs[i], errs[i] = pkgbox(dir, "build", src, "--root", "test", "-j", "1").CombinedOutput()
			}()
		}
		time.Sleep(2 * time.Second)
		out, err := pkgbox(dir, "remove", "test").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "in use") {
			t.Errorf("remove during builds: %v: %s", err, out)
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("concurrent build %d: %v\n%s", i, err, outs[i])
			}
		}
		count(&tally.concurrent, 5)
		checkClean(t, dir, "concurrent builds")
	})

	t.Run("create", func(t *testing.T) {
		// The cache is warm (copied): the interrupts land in Release
		// checks, validation, extraction and unpacking.
		for i := 0; i < *rounds; i++ {
			sig, out := interrupt(t, dir, 10*time.Second, "create", session.HostSuite(), "--variant", "minbase", "--name", "interrupted")
			interrupted("create")
			checkClean(t, dir, fmt.Sprintf("create round %d (%v)", i, sig))
			if sig == 0 {
				t.Fatalf("create round %d ended before its signal: %s", i, out)
			}
			if _, err := os.Lstat(filepath.Join(dir, "roots", "interrupted")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("create round %d (%v) left a root", i, sig)
			}
		}
	})

	t.Run("create-race", func(t *testing.T) {
		// Two creates of one name: one wins, the other says why it lost.
		a, b := pkgbox(dir, "create", session.HostSuite(), "--variant", "minbase", "--name", "fault"),
			pkgbox(dir, "create", session.HostSuite(), "--variant", "minbase", "--name", "fault")
		var aout, bout strings.Builder
		a.Stdout, a.Stderr, b.Stdout, b.Stderr = &aout, &aout, &bout, &bout
		if err := a.Start(); err != nil {
			t.Fatal(err)
		}
		if err := b.Start(); err != nil {
			t.Fatal(err)
		}
		aerr, berr := a.Wait(), b.Wait()
		count(&tally.concurrent, 2)
		if (aerr == nil) == (berr == nil) {
			t.Fatalf("two creates of one name: %v and %v\n%s\n%s", aerr, berr, aout.String(), bout.String())
		}
		loser := bout.String()
		if berr == nil {
			loser = aout.String()
		}
		if !strings.Contains(loser, `root "fault" is being made or used by another pkgbox`) && !strings.Contains(loser, `root "fault" already exists`) {
			t.Errorf("the losing create says: %s", loser)
		}
		checkClean(t, dir, "create race")
	})

	t.Run("update", func(t *testing.T) {
		for i := 0; i < *rounds; i++ {
			sig, _ := interrupt(t, dir, 4*time.Second, "update", "fault")
			interrupted("update")
			checkClean(t, dir, fmt.Sprintf("update round %d (%v)", i, sig))
		}
		if out, err := pkgbox(dir, "update", "fault").CombinedOutput(); err != nil {
			t.Fatalf("update after the interrupts: %v\n%s", err, out)
		}
		// dpkg's own consistency check: nothing half-installed.
		out, err := pkgbox(dir, "run", "fault", "--", "dpkg", "--audit").CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("dpkg --audit in the updated root: %v: %s", err, out)
		}
		checkClean(t, dir, "update after the interrupts")
	})

	t.Run("update-waits", func(t *testing.T) {
		// A session holds the root: update gives up after --wait with a
		// clear message, then succeeds once the session has ended.
		hold := pkgbox(dir, "run", "fault", "--", "sleep", "6")
		if err := hold.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		out, err := pkgbox(dir, "update", "fault", "--wait", "1").CombinedOutput()
		if err == nil || !strings.Contains(string(out), `root "fault" is still in use by another pkgbox after 1s`) {
			t.Errorf("update --wait 1 on a root in use: %v: %s", err, out)
		}
		out, err = pkgbox(dir, "update", "fault", "--wait", "60").CombinedOutput()
		if err != nil {
			t.Errorf("update --wait 60: %v: %s", err, out)
		}
		_ = hold.Wait()
		var meta store.Root
		data, _ := os.ReadFile(filepath.Join(dir, "roots", "fault.json"))
		if json.Unmarshal(data, &meta) != nil || meta.Updated.IsZero() {
			t.Errorf("fault.json after update: %s", data)
		}
		count(&tally.concurrent, 3)
		checkClean(t, dir, "update waits")
	})
}

// copyPackage copies testdata package name into a fresh directory.
func copyPackage(t *testing.T, pkgs, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	if out, err := exec.Command("cp", "-a", filepath.Join(pkgs, name), dst).CombinedOutput(); err != nil {
		t.Fatalf("copy %s: %v: %s", name, err, out)
	}
	return dst
}

// checkNoPartial checks an interrupted build's output directory: complete
// artifacts or none, never a half-copied one under its final name.
func checkNoPartial(t *testing.T, out string) {
	t.Helper()
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".deb") {
			if err := exec.Command("dpkg-deb", "--info", filepath.Join(out, e.Name())).Run(); err != nil {
				t.Errorf("interrupted build left a broken %s", e.Name())
			}
		}
		if strings.Contains(e.Name(), ".pkgbox-") || strings.HasPrefix(e.Name(), ".") {
			t.Errorf("interrupted build left temporary file %s", e.Name())
		}
	}
}
