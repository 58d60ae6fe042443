package bootstrap

import (
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/term"

	"pkgbox/internal/progress"
)

// Display shows a create's progress to a person: on a terminal a bar per
// phase that moves with debootstrap's real work; elsewhere (CI, pipes) one
// line per phase; with verbose, debootstrap's own messages and log as they
// come. Warnings and notes are shown in every mode; errors only with
// verbose, since a failed create reports them in its error.
type Display struct {
	w       io.Writer
	verbose bool
	tty     bool

	mu    sync.Mutex
	bar   *progress.Bar
	phase string
	title string
}

// NewDisplay makes a Display writing to w (normally os.Stderr).
func NewDisplay(w io.Writer, verbose bool) *Display {
	d := &Display{w: w, verbose: verbose}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		d.tty = true
	}
	return d
}

// byteCounted are the phases whose totals count bytes, not packages.
var byteCounted = map[string]bool{"DOWNPKGS": true, "DOWNDEBS": true}

// Event shows e; it is safe to call from several goroutines.
func (d *Display) Event(e Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch e.Kind {
	case KindProgress:
		d.progress(e)
	case KindInfo:
		if d.verbose {
			fmt.Fprintf(d.w, "I: %s\n", e.Text)
		}
	case KindWarning:
		d.line("warning: " + e.Text)
	case KindError:
		if d.verbose {
			fmt.Fprintf(d.w, "E: %s\n", e.Text)
		}
	case KindNote:
		d.line(e.Text)
	}
}

// Log is where debootstrap's own output goes: the display's writer with
// verbose, nowhere otherwise.
func (d *Display) Log() io.Writer {
	if d.verbose {
		return lockedWriter{d}
	}
	return io.Discard
}

// Close ends the bar, if one is showing.
func (d *Display) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.endBar()
}

func (d *Display) progress(e Event) {
	if e.Title == "" {
		return
	}
	now, total := e.Now, e.Total
	if total <= 0 {
		total = 1
	}
	if now > total {
		now = total
	}
	changed := e.Phase != d.phase || e.Title != d.title
	d.phase, d.title = e.Phase, e.Title
	if !d.tty || d.verbose {
		if changed {
			fmt.Fprintln(d.w, phaseLine(e))
		}
		return
	}
	if changed || d.bar == nil {
		d.endBar()
		d.bar = progress.New(d.w, fmt.Sprintf("%-30s", e.Title), total, progress.Style{
			Width: 30,
			Bytes: byteCounted[e.Phase],
			Count: !byteCounted[e.Phase] && e.Total != 100,
		})
	}
	d.bar.Set(now)
}

// endBar completes the current bar, leaving its last state on screen.
func (d *Display) endBar() {
	if d.bar != nil {
		d.bar.Finish()
		d.bar = nil
	}
}

// line prints a line of its own, clearing the bar first so they do not mix.
func (d *Display) line(s string) {
	if d.bar != nil && !d.bar.Finished() {
		d.bar.Clear()
	}
	fmt.Fprintln(d.w, s)
	if d.bar != nil && !d.bar.Finished() {
		d.bar.Render()
	}
}

// phaseLine is a phase's one line for logs: its title and its size.
func phaseLine(e Event) string {
	switch {
	case byteCounted[e.Phase]:
		return fmt.Sprintf("%s (%.1f MB)", e.Title, float64(e.Total)/1e6)
	case e.Total > 1 && e.Total != 100:
		return fmt.Sprintf("%s (%d)", e.Title, e.Total)
	}
	return e.Title
}

// lockedWriter serialises debootstrap's log with the display's lines.
type lockedWriter struct{ d *Display }

func (l lockedWriter) Write(p []byte) (int, error) {
	l.d.mu.Lock()
	defer l.d.mu.Unlock()
	return l.d.w.Write(p)
}
