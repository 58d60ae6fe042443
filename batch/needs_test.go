package batch

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"pkgbox/build"
)

// TestRunNeeds runs a batch whose Prepare refuses every source it is
// asked to build, so that no build starts: a source whose need ended
// otherwise than built is skipped with the reason and never prepared; a
// source waits for what it needs, listed after it or not; the others are
// prepared in the list's order.
func TestRunNeeds(t *testing.T) {
	items := []Item{{Input: "app"}, {Input: "lib"}, {Input: "free"}, {Input: "tool"}, {Input: "uses-tool"}}
	var mu sync.Mutex
	var prepared []string
	refused := errors.New("refused by the test")
	recs := Run(context.Background(), &Request{
		Items:     items,
		Jobs:      1,
		KeepGoing: true,
		Needs:     [][]int{{1}, nil, nil, nil, {3, 2}},
		Prepare: func(i int, r *build.Request) error {
			mu.Lock()
			defer mu.Unlock()
			prepared = append(prepared, items[i].Input)
			return refused
		},
		Done: func(int, *Record) error { t.Error("Done called for a source not built"); return nil },
	})
	if want := []string{"lib", "free", "tool"}; !slices.Equal(prepared, want) {
		t.Errorf("prepared %q, want %q", prepared, want)
	}
	want := map[string]Outcome{"app": Skipped, "lib": Errored, "free": Errored, "tool": Errored, "uses-tool": Skipped}
	for _, r := range recs {
		if r.Outcome != want[r.Input] {
			t.Errorf("%s: %s (%s), want %s", r.Input, r.Outcome, r.Error, want[r.Input])
		}
	}
	if r := recs[0]; r.Error != "not built: it needs the packages of lib, which ended error" || r.Usable() {
		t.Errorf("app: %q", r.Error)
	}
	if r := recs[4]; r.Error != "not built: it needs the packages of tool, which ended error" {
		t.Errorf("uses-tool: %q", r.Error)
	}
	if c := Count(recs); c.ExitStatus() != ExitError {
		t.Errorf("exit status %d", c.ExitStatus())
	}
}

// TestRunNeedsStop: without KeepGoing, the first failure starts nothing
// more, and what never started is NotBuilt, not Skipped.
func TestRunNeedsStop(t *testing.T) {
	items := []Item{{Input: "lib"}, {Input: "app"}, {Input: "free"}}
	recs := Run(context.Background(), &Request{
		Items: items, Jobs: 1, Needs: [][]int{nil, {0}, nil},
		Prepare: func(int, *build.Request) error { return errors.New("refused") },
	})
	for i, want := range []Outcome{Errored, NotBuilt, NotBuilt} {
		if recs[i].Outcome != want {
			t.Errorf("%s: %s, want %s", items[i].Input, recs[i].Outcome, want)
		}
	}
}
