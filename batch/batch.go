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

	// Needs, if set, are for each source the sources (indices into Items)
	// whose packages it needs (a chain): it starts only once they have
	// ended, and is Skipped, with an *UnmetError, if one of them was not
	// built. Needs must have no cycle.
	Needs [][]int
	// Prepare, if set, is called just before source i is built, with its
	// request, which it may change (a chain adds its repository); an error
	// makes the source Errored.
	Prepare func(i int, r *build.Request) error
	// Done, if set, is called when source i was built or found built
	// (--skip-built), with its record; an error makes the source Errored.
	Done func(i int, rec *Record) error
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
// each, in the list's order. A source starts once those it needs
// (req.Needs) have ended; the first such source of the list goes first.
// Cancelling ctx ends the running builds (their sandboxes and sessions go
// with them) and starts no other; the sources not started are NotBuilt.
func Run(ctx context.Context, req *Request) []*Record {
	recs := make([]*Record, len(req.Items))
	started := make([]bool, len(req.Items))
	var mu sync.Mutex // serialises Events and guards the rest
	wake := sync.NewCond(&mu)
	failed, running := false, 0
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		wake.Broadcast()
	})
	defer stop()
	emit := func(e Event) {
		if req.Events != nil {
			req.Events(e)
		}
	}
	finish := func(i int, r *Record) { // with mu held
		recs[i] = r
		if r.Outcome == Failed || r.Outcome == Errored {
			failed = true
		}
		emit(Event{Kind: Finished, Index: i, Item: &req.Items[i], Record: r})
		wake.Broadcast()
	}
	// next takes the first source not started whose needs have ended, or
	// returns -1 when none is left to start: the batch stopped, or every
	// source started, or those left wait for sources that never end (which
	// Needs without a cycle cannot make).
	next := func() int { // with mu held
		for {
			if ctx.Err() != nil || failed && !req.KeepGoing {
				return -1
			}
			left := false
			for i := range req.Items {
				if started[i] {
					continue
				}
				left = true
				if req.needsEnded(i, recs) {
					started[i] = true
					running++
					return i
				}
			}
			if !left || running == 0 {
				return -1
			}
			wake.Wait()
		}
	}
	var wg sync.WaitGroup
	for range max(req.Jobs, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next()
				var why error
				if i >= 0 {
					why = req.unmet(i, recs)
				}
				mu.Unlock()
				if i < 0 {
					return
				}
				var r *Record
				if why != nil {
					r = NewRecord(req.Items[i].Input, nil, why, 0)
					r.Outcome = Skipped
				} else {
					r = buildOne(ctx, req, i, func(e Event) {
						mu.Lock()
						defer mu.Unlock()
						emit(e)
					})
				}
				mu.Lock()
				running--
				finish(i, r)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	for i, r := range recs {
		if r == nil {
			rec := NewRecord(req.Items[i].Input, nil, errNotStarted, 0)
			rec.Outcome = NotBuilt
			finish(i, rec)
		}
	}
	return recs
}

// needsEnded says whether every source that source i needs has a record.
func (req *Request) needsEnded(i int, recs []*Record) bool {
	if i >= len(req.Needs) {
		return true
	}
	for _, n := range req.Needs[i] {
		if recs[n] == nil {
			return false
		}
	}
	return true
}

// unmet says why source i cannot be built, when a source it needs was not
// built (nor found built before), or nil.
func (req *Request) unmet(i int, recs []*Record) error {
	if i >= len(req.Needs) {
		return nil
	}
	for _, n := range req.Needs[i] {
		if r := recs[n]; !r.Usable() {
			return &UnmetError{Need: req.Items[n].Input, Outcome: r.Outcome}
		}
	}
	return nil
}

// UnmetError says a source was not built because a source it needs was not.
type UnmetError struct {
	Need    string
	Outcome Outcome
}

func (e *UnmetError) Error() string {
	return fmt.Sprintf("not built: it needs the packages of %s, which ended %s", e.Need, e.Outcome)
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
	r.ExtraRepositories = slices.Clone(r.ExtraRepositories)
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
			return req.done(i, rec)
		}
	} else if r.Package != "" {
		r.Progress(build.Event{Phase: "fetch source", Percent: -1})
	}
	if req.Prepare != nil {
		if err := req.Prepare(i, &r); err != nil {
			return NewRecord(it.Input, nil, err, time.Since(start))
		}
	}
	res, err := build.Build(ctx, &r)
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		// Whatever the stopped build's step said, it was stopped.
		err = fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	return req.done(i, NewRecord(it.Input, res, err, time.Since(start)))
}

// done calls req.Done for a usable record.
func (req *Request) done(i int, rec *Record) *Record {
	if req.Done == nil || !rec.Usable() {
		return rec
	}
	if err := req.Done(i, rec); err != nil {
		rec.Outcome, rec.Error = Errored, err.Error()
	}
	return rec
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
