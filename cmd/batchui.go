package cmd

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"pkgbox/batch"
)

// batchUI shows a batch's progress on stderr. On a terminal: a line per
// finished source above a block, redrawn in place every second, of one line
// per running build (source, phase, elapsed) and the counts of done, failed
// and queued sources. Elsewhere (a log, CI): a plain line per start, phase
// and end.
type batchUI struct {
	mu      sync.Mutex
	w       io.Writer
	tty     bool
	total   int
	running map[int]*batchRow
	counts  batch.Counts
	drawn   int // lines of the block on the screen
	stop    chan struct{}
	stopped chan struct{}
}

// batchRow is a running build.
type batchRow struct {
	name    string
	phase   string
	percent float64
	start   time.Time
}

func newBatchUI(w io.Writer, total, builds, jobs int) *batchUI {
	f, ok := w.(*os.File)
	u := &batchUI{w: w, tty: ok && isTerminal(f), total: total, running: map[int]*batchRow{},
		counts: batch.Counts{}, stop: make(chan struct{}), stopped: make(chan struct{})}
	fmt.Fprintf(w, "pkgbox: %s, %d at once, each with -j %d\n", plural(total, "source"), builds, jobs)
	go u.tick()
	return u
}

// tick redraws the block every second, for the elapsed times.
func (u *batchUI) tick() {
	defer close(u.stopped)
	if !u.tty {
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-u.stop:
			return
		case <-t.C:
			u.mu.Lock()
			u.draw()
			u.mu.Unlock()
		}
	}
}

func (u *batchUI) event(e batch.Event) {
	u.mu.Lock()
	defer u.mu.Unlock()
	switch e.Kind {
	case batch.Started:
		u.running[e.Index] = &batchRow{name: e.Item.Input, phase: "starting", percent: -1, start: time.Now()}
		if !u.tty {
			fmt.Fprintf(u.w, "pkgbox: %s: started\n", e.Item.Input)
		}
	case batch.Progress:
		r := u.running[e.Index]
		if r == nil {
			return
		}
		if r.phase != e.Phase && !u.tty {
			fmt.Fprintf(u.w, "pkgbox: %s: %s\n", e.Item.Input, e.Phase)
		}
		r.phase, r.percent = e.Phase, e.Percent
		return // drawn by the next tick
	case batch.Finished:
		delete(u.running, e.Index)
		u.counts[e.Record.Outcome]++
		u.clear()
		fmt.Fprintf(u.w, "pkgbox: %s\n", finishedLine(e.Item.Input, e.Record))
	}
	u.draw()
}

// finishedLine says how a source ended, in one line.
func finishedLine(input string, r *batch.Record) string {
	what := input
	if r.Result != nil && r.Source != "" {
		what = r.Source + " " + r.Version
	}
	switch r.Outcome {
	case batch.Skipped:
		if r.Error != "" || len(r.Artifacts) == 0 { // a chain's source whose dependency was not built
			return fmt.Sprintf("%s: skipped, %s", what, r.Error)
		}
		return fmt.Sprintf("%s: skipped, built before (%s)", what, r.Artifacts[0].Path)
	case batch.Built:
		return fmt.Sprintf("%s: built (%s)", what, roundDuration(r.Duration))
	case batch.Failed:
		return fmt.Sprintf("%s: FAILED in %s (%s); log: %s", what, r.Failed, roundDuration(r.Duration), r.Log)
	case batch.NotBuilt:
		return fmt.Sprintf("%s: not built", what)
	}
	if r.Error != "" {
		return fmt.Sprintf("%s: %s: %s", what, r.Outcome, r.Error)
	}
	return fmt.Sprintf("%s: %s", what, r.Outcome)
}

// clear erases the block from the screen.
func (u *batchUI) clear() {
	if u.tty && u.drawn > 0 {
		fmt.Fprintf(u.w, "\x1b[%dF\x1b[J", u.drawn)
		u.drawn = 0
	}
}

// draw redraws the block: running builds in the list's order, then counts.
func (u *batchUI) draw() {
	if !u.tty {
		return
	}
	u.clear()
	idx := make([]int, 0, len(u.running))
	for i := range u.running {
		idx = append(idx, i)
	}
	slices.Sort(idx)
	var b strings.Builder
	for _, i := range idx {
		r := u.running[i]
		phase := r.phase
		if r.percent >= 0 && r.percent < 100 {
			phase += fmt.Sprintf(" %3.0f%%", r.percent)
		}
		fmt.Fprintf(&b, "  %-32s %-34s %8s\n", clip(r.name, 32), clip(phase, 34), time.Since(r.start).Round(time.Second))
	}
	done := u.counts[batch.Built] + u.counts[batch.Skipped]
	failed := u.counts[batch.Failed] + u.counts[batch.Errored]
	finished := 0
	for _, n := range u.counts {
		finished += n
	}
	fmt.Fprintf(&b, "  %d done, %d failed, %d running, %d queued\n", done, failed, len(u.running), u.total-finished-len(u.running))
	io.WriteString(u.w, b.String())
	u.drawn = len(idx) + 1
}

// clip shortens s to n characters at most.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// close stops the redraws and erases the block, for the table.
func (u *batchUI) close() {
	close(u.stop)
	<-u.stopped
	u.mu.Lock()
	defer u.mu.Unlock()
	u.clear()
}

// plural is n and noun, with an s for other than one.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
