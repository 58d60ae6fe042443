package progress

import (
	"strings"
	"testing"
)

func TestBar(t *testing.T) {
	var out strings.Builder
	b := New(&out, "Extracting", 4, Style{Width: 4, Count: true})
	b.Set(1)
	b.Set(1) // unchanged: not drawn again
	b.Spin()
	b.Set(2)
	if b.Finished() {
		t.Fatal("finished halfway")
	}
	b.Set(9) // past the total: the total, and finished
	if !b.Finished() {
		t.Fatal("not finished at the total")
	}
	b.Set(3) // nothing after the end
	want := "\r\x1b[KExtracting  25% |█   | (1/4)" +
		"\r\x1b[KExtracting |" +
		"\r\x1b[KExtracting  50% |██  | (2/4)" +
		"\r\x1b[KExtracting 100% |████| (4/4)\n"
	if out.String() != want {
		t.Errorf("got\n%q\nwant\n%q", out.String(), want)
	}
}

func TestBarClear(t *testing.T) {
	var out strings.Builder
	b := New(&out, "Downloading", 2e6, Style{Width: 2, Bytes: true, Clear: true})
	b.Set(1e6)
	b.Finish()
	b.Finish()
	want := "\r\x1b[KDownloading  50% |█ | (1.0/2.0 MB)" + "\r\x1b[K"
	if out.String() != want {
		t.Errorf("got\n%q\nwant\n%q", out.String(), want)
	}
}
