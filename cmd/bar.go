package cmd

import (
	"io"

	"github.com/schollz/progressbar/v3"
)

// bar is a progress bar on a terminal, in percent; an unknown percentage
// (negative) shows a spinner.
type bar struct {
	pb *progressbar.ProgressBar
}

func newBar(w io.Writer, what string) *bar {
	pb := progressbar.NewOptions(100,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(what),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetPredictTime(false),
	)
	return &bar{pb: pb}
}

func (b *bar) set(percent float64, detail string) {
	if percent < 0 {
		_ = b.pb.Add(0)
		return
	}
	if detail != "" {
		if len(detail) > 40 {
			detail = detail[:40]
		}
		b.pb.Describe(detail)
	}
	_ = b.pb.Set(int(percent))
}

func (b *bar) finish() { _ = b.pb.Finish() }
