package batch

import (
	"context"
	"errors"
	"time"

	"pkgbox/build"
	"pkgbox/store"
)

// Outcome is how a source of a batch ended.
type Outcome string

// The outcomes.
const (
	Built       Outcome = "built"
	Skipped     Outcome = "skipped"     // --skip-built: its .changes is in --out already; or, with an error, a source it needs was not built
	Failed      Outcome = "failed"      // the package's own build (or dependency install) failed
	Errored     Outcome = "error"       // pkgbox could not build it: a bad source, a full store...
	Interrupted Outcome = "interrupted" // stopped by Ctrl-C or SIGTERM while it built
	NotBuilt    Outcome = "not-built"   // never started: the batch was stopped first
)

// Record is what pkgbox build --json prints for one source (one a line for
// a batch): how it ended, and the build's own result, whose fields it
// carries inline, when the build got as far as a log.
type Record struct {
	Input    string        `json:"input"`
	Outcome  Outcome       `json:"result"`
	Error    string        `json:"error,omitempty"`
	Duration time.Duration `json:"duration_ns"`
	*build.Result
}

// NewRecord is the record of a build of input that returned res and err
// after d.
func NewRecord(input string, res *build.Result, err error, d time.Duration) *Record {
	r := &Record{Input: input, Outcome: Classify(err), Duration: d, Result: res}
	if err != nil {
		r.Error = err.Error()
	}
	if r.Result == nil {
		r.Result = &build.Result{}
	}
	return r
}

// Usable says whether the record's source was built, now or before
// (skipped by --skip-built), so that what needs it may be built.
func (r *Record) Usable() bool {
	return r != nil && (r.Outcome == Built || r.Outcome == Skipped && r.Error == "")
}

// Classify tells a build's outcome by its error: a *build.FailedError is
// the package's failure, unless pkgbox's own trouble (a full store) caused
// it; a cancelled context is an interruption; any other error is pkgbox's.
func Classify(err error) Outcome {
	var fe *build.FailedError
	var ns *store.NoSpaceError
	switch {
	case err == nil:
		return Built
	case errors.Is(err, context.Canceled):
		return Interrupted
	case errors.As(err, &fe) && !errors.As(err, &ns):
		return Failed
	}
	return Errored
}

// Counts are how many records ended which way.
type Counts map[Outcome]int

// Count counts records by outcome.
func Count(recs []*Record) Counts {
	c := Counts{}
	for _, r := range recs {
		c[r.Outcome]++
	}
	return c
}

// Exit statuses of a batch, as pkgbox's exit code table has them.
const (
	ExitOK          = 0
	ExitError       = 1
	ExitFailed      = 3
	ExitInterrupted = 130
)

// ExitStatus is a batch's exit status: 0 when every source was built (or
// skipped as built before); 130 when the batch was interrupted; 1 when
// pkgbox could not build some source; 3 when some package failed (the
// sources after it never started, without --keep-going); 1 when some
// source never started for another reason (a report of shards that did not
// all finish).
func (c Counts) ExitStatus() int {
	switch {
	case c[Interrupted] > 0:
		return ExitInterrupted
	case c[Errored] > 0:
		return ExitError
	case c[Failed] > 0:
		return ExitFailed
	case c[NotBuilt] > 0:
		return ExitError
	}
	return ExitOK
}
