package bootstrap_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"pkgbox/bootstrap"
	"pkgbox/internal/testenv"
	"pkgbox/sandbox"
	"pkgbox/session"
	"pkgbox/store"
)

func TestMain(m *testing.M) {
	// Create runs the root's useradd in a sandbox: this binary is its init.
	sandbox.MaybeInit()
	os.Exit(m.Run())
}

// events records a create's events, and cancels it at the n-th event that
// match says is the moment.
type events struct {
	mu     sync.Mutex
	all    []bootstrap.Event
	match  func(bootstrap.Event) bool
	n      int
	cancel context.CancelFunc
}

func (e *events) add(ev bootstrap.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
	if e.match != nil && e.match(ev) {
		if e.n--; e.n == 0 {
			e.cancel()
		}
	}
}

func (e *events) count(name string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ev := range e.all {
		if ev.Name == name {
			n++
		}
	}
	return n
}

func newPlan(t *testing.T, name string) *bootstrap.Plan {
	t.Helper()
	p, err := bootstrap.NewPlan(context.Background(),
		&bootstrap.Request{Suite: session.HostSuite(), Name: name, Variant: "minbase"}, bootstrap.DefaultHost())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// checkNothingLeft checks that a create left no root, no temporary
// directory, no mount and no debootstrap process.
func checkNothingLeft(t *testing.T, s *store.Store, name string) {
	t.Helper()
	if _, err := s.Root(name); !errors.Is(err, store.ErrNoRoot) {
		t.Errorf("root %s: %v, want ErrNoRoot", name, err)
	}
	if _, err := os.Lstat(s.RootPath(name)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s exists", s.RootPath(name))
	}
	if left, _ := os.ReadDir(filepath.Join(s.Dir, "tmp")); len(left) > 0 {
		t.Errorf("left in the store's tmp/: %v", left)
	}
	if m, _ := store.MountsUnder(s.Dir); len(m) > 0 {
		t.Errorf("mounts left under the store: %v", m)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		procs := testenv.ProcessesIn(s.Dir)
		if len(procs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("processes left: %v", procs)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// debs lists the cache's .deb files with their sizes and times.
func debs(t *testing.T, dir string) map[string]string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.deb"))
	m := map[string]string{}
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		m[filepath.Base(f)] = fmt.Sprint(fi.ModTime(), fi.Size())
	}
	return m
}

// TestCreate goes through a root's life in a store of its own, whose apt
// cache starts empty: a create interrupted while it downloads, a complete
// one, list, a command inside, update, a create interrupted while it
// unpacks, a second create from the warm cache, and removal.
func TestCreate(t *testing.T) {
	testenv.Require(t, testenv.Root, testenv.Net)
	dir, err := os.MkdirTemp("/var/tmp", "pkgbox-create-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.RemoveTree(dir) })
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	interrupt := func(t *testing.T, name, at string, n int) {
		t.Helper()
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		ev := &events{match: func(e bootstrap.Event) bool { return e.Name == at }, n: n, cancel: cancel}
		_, err := bootstrap.Create(cctx, s, newPlan(t, name), bootstrap.CreateOptions{Progress: ev.add, Fresh: true})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("create interrupted at %s: %v, want context.Canceled", at, err)
		}
		if ev.count(at) < n {
			t.Fatalf("create ended before the %d-th %s event", n, at)
		}
		checkNothingLeft(t, s, name)
	}

	// pkgbox fetches the packages beside debootstrap, which then finds
	// most in its cache and only validates them (no RETRIEVING): stop it
	// there, with pkgbox's own downloads in flight.
	t.Run("interrupt-download", func(t *testing.T) {
		interrupt(t, "one", "VALIDATING", 10)
		cache, _ := s.CacheDir(session.HostSuite(), bootstrap.HostArch())
		if left, _ := filepath.Glob(filepath.Join(cache, ".pkgbox-prefetch-*")); len(left) > 0 {
			t.Errorf("partial downloads left in the cache: %v", left)
		}
	})

	p := newPlan(t, "one")
	var log testenv.SyncBuffer
	r, err := bootstrap.Create(ctx, s, p, bootstrap.CreateOptions{Log: &log})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	// debootstrap read its indexes through pkgbox (TestDebootstrapDir
	// shows that the wrapper answers as perl does).
	if strings.Contains(log.String(), "debootstrap reads its indexes with its own helper") {
		t.Errorf("debootstrap ran with perl's index reader:\n%s", log.String())
	}
	// and took the packages pkgbox had checked as they were
	// (TestDebootstrapDirGet).
	if m := regexp.MustCompile(`; (\d+) marked as checked for debootstrap;`).FindStringSubmatch(log.String()); m == nil || m[1] == "0" {
		t.Errorf("no package marked as checked for debootstrap's get:\n%s", log.String())
	}
	t.Run("metadata", func(t *testing.T) {
		got, err := s.Root("one")
		if err != nil {
			t.Fatal(err)
		}
		if got.Suite != p.Suite || got.Arch != bootstrap.HostArch() || got.Variant != "minbase" ||
			got.Created.IsZero() || !got.Updated.IsZero() || got.Debootstrap == "" || got.Path != r.Path {
			t.Errorf("metadata %+v", got)
		}
		// Everyone may enter the root: the build user must.
		if fi, err := os.Stat(r.Path); err != nil {
			t.Error(err)
		} else if fi.Mode().Perm() != 0o755 {
			t.Errorf("the root's / is %v, want drwxr-xr-x", fi.Mode())
		}
		roots, _ := s.Roots()
		if len(roots) != 1 || roots[0].Name != "one" {
			t.Errorf("Roots() = %v", roots)
		}
	})
	t.Run("ready-for-builds", func(t *testing.T) { checkReady(t, s, "one") })
	t.Run("update", func(t *testing.T) {
		before := time.Now()
		var log bytes.Buffer
		got, err := bootstrap.Update(ctx, s, "one", bootstrap.UpdateOptions{Log: &log})
		if err != nil {
			t.Fatalf("update: %v\n%s", err, log.String())
		}
		if got.Updated.Before(before) {
			t.Errorf("updated %v, before %v", got.Updated, before)
		}
		if meta, _ := s.Root("one"); !meta.Updated.Equal(got.Updated) {
			t.Errorf("recorded update time %v, want %v", meta.Updated, got.Updated)
		}
		if !strings.Contains(log.String(), "upgraded") {
			t.Errorf("apt's output lacks its summary:\n%s", log.String())
		}
	})
	t.Run("update-waits", func(t *testing.T) {
		// A session holds the root: update gives up after --wait.
		lock, err := s.LockRoot(ctx, "one", false, false)
		if err != nil {
			t.Fatal(err)
		}
		defer lock.Unlock()
		_, err = bootstrap.Update(ctx, s, "one", bootstrap.UpdateOptions{Wait: 300 * time.Millisecond})
		var busy *session.BusyError
		if !errors.As(err, &busy) {
			t.Fatalf("update of a root in use: %v, want a BusyError", err)
		}
		var inUse *bootstrap.InUseError
		if err := bootstrap.Remove(ctx, s, "one"); !errors.As(err, &inUse) {
			t.Fatalf("remove of a root in use: %v, want an InUseError", err)
		}
	})
	t.Run("exists", func(t *testing.T) {
		var exists *bootstrap.ExistsError
		if _, err := bootstrap.Create(ctx, s, newPlan(t, "one"), bootstrap.CreateOptions{}); !errors.As(err, &exists) {
			t.Fatalf("second create of one: %v, want ExistsError", err)
		}
	})

	t.Run("interrupt-unpack", func(t *testing.T) { interrupt(t, "two", "UNPACKING", 10) })

	t.Run("warm-cache", func(t *testing.T) {
		cache, _ := s.CacheDir(p.Suite, p.Arch)
		before := debs(t, cache)
		if len(before) < 50 {
			t.Fatalf("the cache holds %d .debs after a create", len(before))
		}
		ev := &events{}
		if _, err := bootstrap.Create(ctx, s, newPlan(t, "two"), bootstrap.CreateOptions{Progress: ev.add, Fresh: true}); err != nil {
			t.Fatalf("create: %v", err)
		}
		after := debs(t, cache)
		for f, v := range after {
			if before[f] != v {
				t.Errorf("%s downloaded again", f)
			}
		}
		if ev.count("VALIDATING") < 50 {
			t.Errorf("debootstrap validated %d cached packages", ev.count("VALIDATING"))
		}
		// The Release file and its signature are always fetched; no package.
		if n := ev.count("RETRIEVING"); n > 2 {
			t.Errorf("debootstrap retrieved %d files, want only the Release file and its signature", n)
		}
	})

	t.Run("image", func(t *testing.T) {
		// The first complete create kept debootstrap's result: this one
		// unpacks and upgrades it, and runs no debootstrap at all.
		images, _ := filepath.Glob(filepath.Join(dir, "cache", "bootstrap", "*.tar"))
		if len(images) != 1 {
			t.Fatalf("images in the cache: %v", images)
		}
		ev := &events{}
		if _, err := bootstrap.Create(ctx, s, newPlan(t, "three"), bootstrap.CreateOptions{Progress: ev.add}); err != nil {
			t.Fatalf("create from the image: %v", err)
		}
		if n := ev.count("EXTRACTING") + ev.count("UNPACKING") + ev.count("RETRIEVING"); n > 0 {
			t.Errorf("debootstrap ran (%d events)", n)
		}
		reused := false
		for _, e := range ev.all {
			reused = reused || e.Kind == bootstrap.KindNote && strings.Contains(e.Text, "reusing the bootstrap of")
		}
		if !reused {
			t.Errorf("no note of the image's reuse: %+v", ev.all)
		}
		checkReady(t, s, "three")
	})

	t.Run("remove", func(t *testing.T) {
		for _, name := range []string{"one", "two", "three"} {
			if err := bootstrap.Remove(ctx, s, name); err != nil {
				t.Fatalf("remove %s: %v", name, err)
			}
			checkNothingLeft(t, s, name)
		}
		if err := bootstrap.Remove(ctx, s, "one"); !errors.Is(err, store.ErrNoRoot) {
			t.Errorf("remove of a removed root: %v, want ErrNoRoot", err)
		}
	})
}

// checkReady checks, inside root name, what create does to make a root
// ready for builds.
func checkReady(t *testing.T, s *store.Store, name string) {
	t.Helper()
	var out bytes.Buffer
	script := `set -e
id -u pkgbox
id -g pkgbox
grep -h Install-Recommends /etc/apt/apt.conf.d/*
/usr/sbin/policy-rc.d || echo policy-rc.d $?
test ! -e /etc/dpkg/dpkg.cfg.d/pkgbox-unsafe-io && echo no-unsafe-io
grep -c "^deb .* main" /etc/apt/sources.list
grep -A3 "^Name: man-db/auto-update$" /var/cache/debconf/config.dat | grep -c "^Value: false$"
ls /var/lib/apt/lists | grep -c _Packages
dpkg --audit && echo audit-clean`
	res, err := session.Run(context.Background(), &session.Options{Store: s, Root: name, Profile: "minimal"},
		&session.Command{Args: []string{"/bin/sh", "-c", script}, Stdio: sandbox.Stdio{Stdout: &out, Stderr: &out}})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("run in %s: %v %+v\n%s", name, err, res, out.String())
	}
	id, err := bootstrap.HostBuildID()
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%d\n%d\n", id, id) + "APT::Install-Recommends \"false\";\npolicy-rc.d 101\nno-unsafe-io\n1\n1\n1\naudit-clean\n"
	if out.String() != want {
		t.Errorf("inside %s:\n%s\nwant\n%s", name, out.String(), want)
	}
}
