package cmd

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"pkgbox/batch"
	"pkgbox/build"
)

// newTestBatchUI is a batchUI drawing into a buffer, as on a terminal or not.
func newTestBatchUI(tty bool, total int) (*batchUI, *bytes.Buffer) {
	var buf bytes.Buffer
	u := &batchUI{w: &buf, tty: tty, total: total, running: map[int]*batchRow{}, counts: batch.Counts{},
		stop: make(chan struct{}), stopped: make(chan struct{})}
	close(u.stopped) // no ticker: the test draws
	return u, &buf
}

func TestBatchUITerminal(t *testing.T) {
	u, buf := newTestBatchUI(true, 3)
	a, b := &batch.Item{Input: "./hello"}, &batch.Item{Input: "bc=1.07.1-3"}
	u.event(batch.Event{Kind: batch.Started, Index: 0, Item: a})
	u.event(batch.Event{Kind: batch.Started, Index: 1, Item: b})
	u.event(batch.Event{Kind: batch.Progress, Index: 1, Item: b, Phase: "install build dependencies", Percent: 42})
	u.running[0].start = time.Now().Add(-75 * time.Second)
	buf.Reset()
	u.draw()
	screen := buf.String()
	// The old block (2 running + counts) is erased, then drawn again.
	if !strings.HasPrefix(screen, "\x1b[3F\x1b[J") {
		t.Errorf("the block is not redrawn in place: %q", screen)
	}
	for _, re := range []string{
		`(?m)(^|\x1b\[J)  \./hello +starting +1m15s$`,
		`(?m)^  bc=1\.07\.1-3 +install build dependencies  42% +0s$`,
		`(?m)^  0 done, 0 failed, 2 running, 1 queued$`,
	} {
		if !regexp.MustCompile(re).MatchString(screen) {
			t.Errorf("screen lacks %s:\n%s", re, screen)
		}
	}
	buf.Reset()
	u.event(batch.Event{Kind: batch.Finished, Index: 0, Item: a, Record: &batch.Record{Input: "./hello", Outcome: batch.Failed,
		Duration: 2 * time.Second, Result: &build.Result{Source: "hello", Version: "2.10-3", Failed: "build", Log: "/o/hello.build"}}})
	want := "\x1b[3F\x1b[Jpkgbox: hello 2.10-3: FAILED in build (2s); log: /o/hello.build\n"
	if !strings.HasPrefix(buf.String(), want) {
		t.Errorf("a finished build is not a line above the block: %q", buf.String())
	}
	if !strings.HasSuffix(buf.String(), "  0 done, 1 failed, 1 running, 1 queued\n") {
		t.Errorf("counts after a failure: %q", buf.String())
	}
	buf.Reset()
	u.close()
	if buf.String() != "\x1b[2F\x1b[J" {
		t.Errorf("close leaves the block: %q", buf.String())
	}
}

func TestBatchUIPlain(t *testing.T) {
	u, buf := newTestBatchUI(false, 2)
	a := &batch.Item{Input: "./hello"}
	u.event(batch.Event{Kind: batch.Started, Index: 0, Item: a})
	u.event(batch.Event{Kind: batch.Progress, Index: 0, Item: a, Phase: "install build dependencies", Percent: -1})
	u.event(batch.Event{Kind: batch.Progress, Index: 0, Item: a, Phase: "install build dependencies", Percent: 40})
	u.event(batch.Event{Kind: batch.Finished, Index: 0, Item: a, Record: &batch.Record{Input: "./hello", Outcome: batch.Built,
		Duration: 1500 * time.Millisecond, Result: &build.Result{Source: "hello", Version: "2.10-3"}}})
	u.close()
	want := "pkgbox: ./hello: started\npkgbox: ./hello: install build dependencies\npkgbox: hello 2.10-3: built (1.5s)\n"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}

// TestBatchUIChainSkipped: a chain's source skipped because what it needs
// failed was never started; its line gives the reason.
func TestBatchUIChainSkipped(t *testing.T) {
	u, buf := newTestBatchUI(false, 2)
	a := &batch.Item{Input: "./app"}
	why := &batch.UnmetError{Need: "./lib", Outcome: batch.Failed}
	rec := batch.NewRecord("./app", nil, why, 0)
	rec.Outcome = batch.Skipped
	u.event(batch.Event{Kind: batch.Finished, Index: 1, Item: a, Record: rec})
	u.close()
	want := "pkgbox: ./app: skipped, not built: it needs the packages of ./lib, which ended failed\n"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}
