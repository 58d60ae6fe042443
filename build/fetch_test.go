package build

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSourceArg(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.Mkdir(filepath.Join(dir, "hello"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ arg, src, pkg string }{
		{"hello", "hello", ""}, // a path wins over a package of the same name
		{"bc", "", "bc"},
		{"bc=1.07.1-3", "", "bc=1.07.1-3"},
		{"libc++1", "", "libc++1"},
		{"./bc", "./bc", ""},           // not a name: a missing path, reported by Build
		{"Hello", "Hello", ""},         // names are lower case
		{"bc=", "bc=", ""},             // no version
		{"-bc", "-bc", ""},             // never an option
		{"x_1.0.dsc", "x_1.0.dsc", ""}, // a .dsc file name
	} {
		src, pkg := SourceArg(c.arg)
		if src != c.src || pkg != c.pkg {
			t.Errorf("SourceArg(%q) = %q, %q; want %q, %q", c.arg, src, pkg, c.src, c.pkg)
		}
	}
}

func TestFetchFailure(t *testing.T) {
	e := fetchFailure("nosuch", "bookworm", "Reading package lists...\nE: Unable to find a source package for nosuch\n")
	if !e.NotFound || e.Unavailable {
		t.Errorf("not found: %+v", e)
	}
	e = fetchFailure("x", "bookworm", "Err:1 http://mirror/debian bookworm/main x 1.0 (tar)\n  404  Not Found [IP: 1.2.3.4 80]\nE: Failed to fetch http://mirror/x.tar.xz  404  Not Found\n")
	if !e.Unavailable || e.NotFound {
		t.Errorf("404: %+v", e)
	}
	if e.Hint() == "" || e.Error() == "" {
		t.Error("no message or hint")
	}
}

func TestFetchFailureOneLine(t *testing.T) {
	e := fetchFailure("x", "bookworm", "Reading package lists...\nW: something odd\nE: Failed to fetch http://mirror.example/x.dsc  Connection failed\nE: Some files failed to download\n")
	want := `fetch source "x" from bookworm: apt-get source failed: Failed to fetch http://mirror.example/x.dsc  Connection failed`
	if e.NotFound || e.Unavailable || e.Error() != want {
		t.Errorf("got %q (%+v), want %q", e.Error(), e, want)
	}
}
