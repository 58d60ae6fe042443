// Package progress draws progress bars on a terminal, for create's phases
// and a build's dependency install. It is small on purpose: the library it
// replaces (schollz/progressbar) linked net/http, crypto/tls and a regexp
// into pkgbox, whose package initialisation every pkgbox process, the
// sandbox's re-executed init included, paid at start (issue 12).
package progress

import (
	"fmt"
	"io"
	"strings"
)

// Style says how a Bar shows its state besides the bar itself.
type Style struct {
	// Width is the bar's length in cells; 0 means 30.
	Width int
	// Bytes shows "now/total MB"; Count shows "(now/total)".
	Bytes, Count bool
	// Clear makes Finish clear the line, instead of leaving the bar in
	// its final state on a line of its own.
	Clear bool
}

// Bar is one progress bar, redrawn in place on its line. It is not safe
// for concurrent use.
type Bar struct {
	w        io.Writer
	desc     string
	total    int64
	now      int64
	spin     int // the wheel's position, or -1 for the bar
	style    Style
	last     string
	finished bool
}

// New makes a bar counting up to total (at least 1) under the description
// desc. Nothing is drawn before the first Set, Spin or Render.
func New(w io.Writer, desc string, total int64, style Style) *Bar {
	if total < 1 {
		total = 1
	}
	if style.Width <= 0 {
		style.Width = 30
	}
	return &Bar{w: w, desc: desc, total: total, style: style, spin: -1}
}

// Describe replaces the description.
func (b *Bar) Describe(desc string) { b.desc = desc }

// Set moves the bar to n; reaching the total finishes it.
func (b *Bar) Set(n int64) {
	if b.finished {
		return
	}
	b.now = min(max(n, 0), b.total)
	b.spin = -1
	if b.now == b.total {
		b.Finish()
		return
	}
	b.Render()
}

// Spin shows activity of an unknown extent: a turning wheel instead of
// the bar.
func (b *Bar) Spin() {
	if b.finished {
		return
	}
	b.spin = (max(b.spin, -1) + 1) % len(wheel)
	b.Render()
}

var wheel = []string{"|", "/", "-", "\\"}

// Finished says whether Finish ran, or the bar reached its total.
func (b *Bar) Finished() bool { return b.finished }

// Finish ends the bar: its line is cleared (Style.Clear) or left showing
// the final state, and the cursor goes to the next line.
func (b *Bar) Finish() {
	if b.finished {
		return
	}
	b.finished = true
	if b.style.Clear {
		b.Clear()
		return
	}
	b.last = ""
	b.Render()
	fmt.Fprint(b.w, "\n")
}

// Clear erases the bar's line, so that a message can take it; Render
// draws the bar again below the message.
func (b *Bar) Clear() {
	fmt.Fprint(b.w, "\r\x1b[K")
	b.last = ""
}

// Render draws the bar, unless it would look as it does already.
func (b *Bar) Render() {
	line := b.line()
	if line == b.last {
		return
	}
	b.last = line
	fmt.Fprint(b.w, "\r\x1b[K"+line)
}

// line is the bar's text: description, percentage, bar, and the count or
// size where the style asks.
func (b *Bar) line() string {
	var s strings.Builder
	s.WriteString(b.desc)
	if b.spin >= 0 && !b.finished {
		fmt.Fprintf(&s, " %s", wheel[b.spin])
		return s.String()
	}
	pct := int(b.now * 100 / b.total)
	full := int(b.now * int64(b.style.Width) / b.total)
	fmt.Fprintf(&s, " %3d%% |%s%s|", pct, strings.Repeat("█", full), strings.Repeat(" ", b.style.Width-full))
	switch {
	case b.style.Bytes:
		fmt.Fprintf(&s, " (%.1f/%.1f MB)", float64(b.now)/1e6, float64(b.total)/1e6)
	case b.style.Count:
		fmt.Fprintf(&s, " (%d/%d)", b.now, b.total)
	}
	return s.String()
}
