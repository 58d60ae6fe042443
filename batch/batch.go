package batch

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"pkgbox/build"
	"pkgbox/debian"
	"pkgbox/store"
)

// Request is a batch: its sources, each with its root chosen, and how to
// build them.
type Request struct {
	Items []Item
	// Template is the build request every source's is copied from; its
	// Source, Package, Root and Progress are set per source.
	Template build.Request
	// Jobs is how many builds run at once (at least 1).
	Jobs int
	// KeepGoing goes on with the other sources after one failed; without
	// it, no new build starts after a failure (the running ones finish).
	KeepGoing bool
	// SkipBuilt skips a source whose .changes is in its output directory
	// already (build.Built): an interrupted batch resumes where it ended.
	SkipBuilt bool
	// Events, if set, hears of each build's start, phases and end. It is
	// called from the builds' goroutines, one at a time.
	Events func(Event)
}

// EventKind says what an Event reports.
type EventKind int

// The kinds of Event.
const (
	Started  EventKind = iota // a build started
	Progress                  // a build's phase or progress changed
	Finished                  // a source's record is final (built, failed, skipped, never started...)
)

// Event reports on source Index of the batch.
type Event struct {
	Kind  EventKind
	Index int
	Item  *Item
	// Phase and Percent (-1: unknown) are the build's, for Progress.
	Phase   string
	Percent float64
	// Record is the source's record, for Finished.
	Record *Record
}

// Run builds req's sources, req.Jobs at once, and returns a record for
// each, in the list's order. Cancelling ctx ends the running builds
// (their sandboxes and sessions go with them) and starts no other; the
// sources not started are NotBuilt.
func Run(ctx context.Context, req *Request) []*Record {
	recs := make([]*Record, len(req.Items))
	var mu sync.Mutex // serialises Events and guards failed
	failed := false
	emit := func(e Event) {
		if req.Events != nil {
			req.Events(e)
		}
	}
	finish := func(i int, r *Record) {
		mu.Lock()
		defer mu.Unlock()
		recs[i] = r
		if r.Outcome == Failed || r.Outcome == Errored {
			failed = true
		}
		emit(Event{Kind: Finished, Index: i, Item: &req.Items[i], Record: r})
	}
	work := make(chan int)
	var wg sync.WaitGroup
	for range max(req.Jobs, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				// The batch may have stopped while i waited for a builder.
				mu.Lock()
				stop := failed && !req.KeepGoing
				mu.Unlock()
				if stop || ctx.Err() != nil {
					continue // NotBuilt, below
				}
				finish(i, buildOne(ctx, req, i, func(e Event) {
					mu.Lock()
					defer mu.Unlock()
					emit(e)
				}))
			}
		}()
	}
feed:
	for i := range req.Items {
		mu.Lock()
		stop := failed && !req.KeepGoing
		mu.Unlock()
		if stop || ctx.Err() != nil {
			break
		}
		select {
		case work <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	for i, r := range recs {
		if r == nil {
			rec := NewRecord(req.Items[i].Input, nil, errNotStarted, 0)
			rec.Outcome = NotBuilt
			finish(i, rec)
		}
	}
	return recs
}

var errNotStarted = errors.New("not started: the batch was stopped first")

// buildOne builds source i (or skips it) and returns its record.
func buildOne(ctx context.Context, req *Request, i int, emit func(Event)) *Record {
	it := &req.Items[i]
	start := time.Now()
	r := req.Template // a copy; its slices are copied too, as Build may append to them
	r.Profiles = slices.Clone(r.Profiles)
	r.ExtraPackages = slices.Clone(r.ExtraPackages)
	r.DebBuildOpts = slices.Clone(r.DebBuildOpts)
	r.Source, r.Package, r.Root = it.Source, it.Package, it.Root
	r.Progress = func(e build.Event) {
		emit(Event{Kind: Progress, Index: i, Item: it, Phase: e.Phase, Percent: e.Percent})
	}
	emit(Event{Kind: Started, Index: i, Item: it})
	if req.SkipBuilt {
		if r.Package != "" {
			// Which version is to be built is known once it is fetched.
			r.Progress(build.Event{Phase: "fetch source", Percent: -1})
			dsc, err := build.Fetch(ctx, r.Store, r.Root, r.Package)
			if err != nil && ctx.Err() != nil {
				err = ctx.Err()
			}
			if err != nil {
				return NewRecord(it.Input, nil, err, time.Since(start))
			}
			r.Source, r.Package = dsc, ""
		}
		res, ok, err := build.Built(&r)
		if err != nil {
			return NewRecord(it.Input, nil, err, time.Since(start))
		}
		if ok {
			rec := NewRecord(it.Input, res, nil, time.Since(start))
			rec.Outcome = Skipped
			return rec
		}
	} else if r.Package != "" {
		r.Progress(build.Event{Phase: "fetch source", Percent: -1})
	}
	res, err := build.Build(ctx, &r)
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		// Whatever the stopped build's step said, it was stopped.
		err = fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	return NewRecord(it.Input, res, err, time.Since(start))
}

// Resolve reads each item's input as build does (a path that exists, else
// a package name) and chooses its root as build does (root when given, else
// the changelog's distribution if the store has such a root, else the
// default root). It returns the roots that do not exist yet: the caller
// makes them before Run. A source that cannot be read is an error naming
// where it was listed.
func Resolve(s *store.Store, items []Item, root, dist string) (missing []string, err error) {
	for i := range items {
		it := &items[i]
		it.Source, it.Package = build.SourceArg(it.Input)
		if it.Source != "" {
			// Read now even when the root is given: a bad source of a
			// long list is said before hours of builds, not after.
			if _, err := debian.ReadSource(it.Source); err != nil {
				return nil, fmt.Errorf("%s: %w", it.Origin, err)
			}
		}
		name, miss, err := build.ChooseRoot(s, it.Source, root, dist)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", it.Origin, err)
		}
		it.Root = name
		if miss && !slices.Contains(missing, name) {
			missing = append(missing, name)
		}
	}
	return missing, nil
}

// MemoryPerBuild is the memory a batch's default number of builds at once
// counts for each build: enough for a typical package's compiler jobs.
const MemoryPerBuild = 2 << 30

// DefaultJobs is how many builds run at once, and each build's own jobs
// (DEB_BUILD_OPTIONS=parallel), when the user gave neither or one of them
// (zero means not given), on a machine of cpus CPUs and mem bytes of memory:
// as many builds as the CPUs hold at each build's jobs, and the memory at
// MemoryPerBuild each; a build's jobs default to its share of the CPUs.
// Small packages spend much of their time in one-threaded steps (the
// dependency install, dpkg-source, dh's sequence), so builds side by side
// use the CPUs better than one build's parallel jobs.
func DefaultJobs(builds, jobs, cpus int, mem int64) (int, int) {
	cpus = max(cpus, 1)
	if builds <= 0 {
		builds = cpus / max(jobs, 1)
		if mem > 0 {
			builds = min(builds, int(mem/MemoryPerBuild))
		}
		builds = max(builds, 1)
	}
	if jobs <= 0 {
		jobs = max(cpus/builds, 1)
	}
	return builds, jobs
}

// CPUs is the number of CPUs this process may use.
func CPUs() int { return runtime.NumCPU() }
