package progress

import (
	"strings"
	"testing"
)

func TestBar(t *testing.T) {
	var out strings.Builder
	b := New(&out, "Extracting", 4, Style{Width: 4, Count: true})
	b.Set(1)
	b.Spin()
	b.Set(2)
	if b.Finished() {
		t.Fatal("finished halfway")
	}
	if !strings.Contains(out.String(), "Extracting") || !strings.Contains(out.String(), "(2/4)") {
		t.Errorf("halfway: %q", out.String())
	}
	b.Set(9) // past the total: the total, and finished
	if !b.Finished() {
		t.Fatal("not finished at the total")
	}
	b.Set(3) // nothing after the end
	if s := out.String(); !strings.Contains(s, "100%") || !strings.HasSuffix(s, "\n") || strings.Contains(s, "(3/4)") {
		t.Errorf("finished: %q", s)
	}
}

func TestBarClear(t *testing.T) {
	var out strings.Builder
	b := New(&out, "Downloading", 2e6, Style{Width: 2, Bytes: true, Clear: true})
	b.Set(1e6)
	if !strings.Contains(out.String(), "MB") {
		t.Errorf("no byte counts: %q", out.String())
	}
	b.Finish()
	b.Finish()
	if !b.Finished() || strings.HasSuffix(out.String(), "\n") {
		t.Errorf("a cleared bar leaves its line: %q", out.String())
	}
}
