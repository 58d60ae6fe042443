package cmd

import (
	"io"

	"pkgbox/internal/progress"
)

// bar is a progress bar on a terminal, in percent; an unknown percentage
// (negative) shows a spinner.
type bar struct {
	pb *progress.Bar
}

func newBar(w io.Writer, what string) *bar {
	return &bar{pb: progress.New(w, what, 100, progress.Style{Width: 30, Clear: true})}
}

func (b *bar) set(percent float64, detail string) {
	if detail != "" {
		if len(detail) > 40 {
			detail = detail[:40]
		}
		b.pb.Describe(detail)
	}
	if percent < 0 {
		b.pb.Spin()
		return
	}
	b.pb.Set(int64(percent))
}

func (b *bar) finish() { b.pb.Finish() }
