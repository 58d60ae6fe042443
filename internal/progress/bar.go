// Package progress draws the progress bars of create's phases and a build's
// dependency install, the one renderer both use, on top of
// schollz/progressbar.
package progress

import (
	"io"

	"github.com/schollz/progressbar/v3"
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
	pb    *progressbar.ProgressBar
	total int64
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
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionSetWidth(style.Width),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionShowBytes(style.Bytes),
		progressbar.OptionThrottle(0),
	}
	if style.Count || style.Bytes {
		opts = append(opts, progressbar.OptionShowCount())
	}
	if style.Clear {
		opts = append(opts, progressbar.OptionClearOnFinish())
	} else {
		opts = append(opts, progressbar.OptionOnCompletion(func() { _, _ = io.WriteString(w, "\n") }))
	}
	return &Bar{pb: progressbar.NewOptions64(total, opts...), total: total}
}

// Describe replaces the description.
func (b *Bar) Describe(desc string) { b.pb.Describe(desc) }

// Set moves the bar to n; reaching the total finishes it.
func (b *Bar) Set(n int64) {
	if b.pb.IsFinished() {
		return
	}
	_ = b.pb.Set64(min(max(n, 0), b.total))
}

// Spin shows that work goes on while its amount is unknown.
func (b *Bar) Spin() {
	if !b.pb.IsFinished() {
		_ = b.pb.Add64(0)
	}
}

// Finished says whether the bar reached its total or was finished.
func (b *Bar) Finished() bool { return b.pb.IsFinished() }

// Finish ends the bar: full, then cleared or left on its line (Style.Clear).
func (b *Bar) Finish() {
	if !b.pb.IsFinished() {
		_ = b.pb.Finish()
	}
}

// Clear erases the bar's line, to print something else there.
func (b *Bar) Clear() { _ = b.pb.Clear() }

// Render draws the bar as it is.
func (b *Bar) Render() { _ = b.pb.RenderBlank() }
