package batch_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"pkgbox/batch"
	"pkgbox/build"
	"pkgbox/internal/testenv"
	"pkgbox/sandbox"
	"pkgbox/store"
)

func TestMain(m *testing.M) {
	sandbox.MaybeInit()
	os.Exit(m.Run())
}

func sessionsOf(dir string) map[string]bool {
	entries, _ := os.ReadDir(filepath.Join(dir, "sessions"))
	m := map[string]bool{}
	for _, e := range entries {
		m[e.Name()] = true
	}
	return m
}

// TestConcurrentDependencyInstalls builds two sources that need build
// dependencies at once on one root, each installing them afresh (no
// layers) through the store's one apt cache, from which their .debs were
// removed first: one build downloads them while the other waits for the
// cache, then finds them there (checked against the lists); both build, and
// they did run side by side.
func TestConcurrentDependencyInstalls(t *testing.T) {
	s, _ := testenv.SharedRoot(t)
	a, b := testenv.CopyPackage(t, "needs-deps"), testenv.CopyPackage(t, "needs-deps")
	meta, err := s.Root(testenv.RootName)
	if err != nil {
		t.Fatal(err)
	}
	// Under the cache's lock, as a build's download step holds it: a
	// build of another test meanwhile downloads them again, no more.
	cache, unlock, err := s.AptCache(context.Background(), meta.Suite, meta.Arch)
	if err != nil {
		t.Fatal(err)
	}
	debs, _ := filepath.Glob(filepath.Join(cache, "zlib1g-dev_*.deb"))
	for _, d := range debs {
		if err := os.Remove(d); err != nil {
			t.Fatal(err)
		}
	}
	unlock()
	before := sessionsOf(s.Dir)
	var mu sync.Mutex
	running, most := 0, 0
	var phases []string
	recs := batch.Run(context.Background(), &batch.Request{
		Items:    []batch.Item{{Input: a, Source: a, Root: testenv.RootName}, {Input: b, Source: b, Root: testenv.RootName}},
		Template: build.Request{Store: s, Jobs: 1, NoLayers: true},
		Jobs:     2,
		Events: func(e batch.Event) {
			mu.Lock()
			defer mu.Unlock()
			switch e.Kind {
			case batch.Started:
				running++
				most = max(most, running)
			case batch.Progress:
				if e.Phase == "install build dependencies" && e.Percent < 0 {
					phases = append(phases, e.Item.Input)
				}
			case batch.Finished:
				running--
			}
		},
	})
	downloads := 0
	for _, r := range recs {
		if r.Outcome != batch.Built {
			t.Errorf("%s: %s (%s); log %s", r.Input, r.Outcome, r.Error, r.Log)
			continue
		}
		log, err := os.ReadFile(r.Log)
		if err != nil {
			t.Fatal(err)
		}
		// Installed afresh, not from a layer: apt set up the packages.
		if !strings.Contains(string(log), "Setting up zlib1g-dev") {
			t.Errorf("%s: the log shows no install of zlib1g-dev", r.Log)
		}
		if regexp.MustCompile(`(?m)^Get:\S* \S+ \S+ \S+ zlib1g-dev `).Match(log) {
			downloads++
		}
	}
	t.Logf("zlib1g-dev downloaded by %d of the two builds", downloads)
	// Exactly one downloaded it (unless another test's build took the
	// cache's lock first and downloaded it for both).
	if downloads > 1 {
		t.Errorf("zlib1g-dev downloaded %d times: the second build did not find it in the shared cache", downloads)
	}
	if debs, _ := filepath.Glob(filepath.Join(cache, "zlib1g-dev_*.deb")); len(debs) != 1 {
		t.Errorf("the shared cache holds %v", debs)
	}
	if most != 2 {
		t.Errorf("at most %d builds ran at once, want 2", most)
	}
	if len(phases) != 2 {
		t.Errorf("dependency installs started: %v", phases)
	}
	for _, id := range testenv.LeakedSessions(s.Dir, before) {
		t.Errorf("session %s left behind", id)
	}
	if m, _ := store.MountsUnder(s.Dir); len(m) > 0 {
		t.Errorf("mounts left under the store: %v", m)
	}
}
