package corpus

import (
	"reflect"
	"testing"
)

func TestDebSrc(t *testing.T) {
	for _, c := range []struct{ name, in, out string }{
		{"sources.list", "# comment\ndeb http://mirror.invalid/debian bookworm main\n  deb [signed-by=/k.gpg] http://m.invalid/d bookworm main\ndeb-src http://x.invalid/ y main\n",
			"deb http://mirror.invalid/debian bookworm main\ndeb-src http://mirror.invalid/debian bookworm main\n" +
				"deb [signed-by=/k.gpg] http://m.invalid/d bookworm main\ndeb-src [signed-by=/k.gpg] http://m.invalid/d bookworm main\n"},
		{"debian.sources", "Types: deb\nURIs: http://mirror.invalid/debian\nSuites: bookworm\n\nTypes: deb deb-src\nURIs: http://x.invalid/\n",
			"Types: deb deb-src\nURIs: http://mirror.invalid/debian\nSuites: bookworm\n\nTypes: deb deb-src\nURIs: http://x.invalid/\n\n"},
	} {
		got, ok := DebSrc(c.name, c.in)
		if !ok || got != c.out {
			t.Errorf("%s: got %q (%v), want %q", c.name, got, ok, c.out)
		}
	}
	if _, ok := DebSrc("x.list.disabled-by-farm", "deb http://x.invalid/ y main\n"); ok {
		t.Error("a file apt ignores was used")
	}
}

const showOutput = `Package: hello
Version: 2.10-3+b1
Architecture: amd64
Source: hello (2.10-3)
Description: example
 a long
 description

Package: hello
Version: 2.10-2
Architecture: amd64
Description: an older one

Package: hello-doc
Version: 2.10-3
Architecture: all
Source: hello

Package: hello-i386
Version: 2.10-3
Architecture: i386
Source: hello

Package: libother
Version: 2.10-3
Architecture: amd64
Source: other
`

func TestArchiveBinaries(t *testing.T) {
	got := ArchiveBinaries([]byte(showOutput), "hello", "2.10-3", "amd64")
	want := map[string]string{"hello": "2.10-3+b1", "hello-doc": "2.10-3"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	st := stanzas([]byte(showOutput))
	if len(st) != 5 || st[0]["Description"] != "example a long description" {
		t.Errorf("stanzas: got %d, first %q", len(st), st[0])
	}
}

func TestSuiteVersions(t *testing.T) {
	madison := []byte(`      less | 590-2.1~deb12u2 | http://mirror.example/debian-security bookworm-security/main Sources
      less | 590-2.1~deb12u1 | http://mirror.example/debian bookworm/main Sources
      less | 590-2.1~deb12u1 | http://mirror.example/debian bookworm/main amd64 Packages
 lessfs | 1.0 | http://mirror.example/debian bookworm/main Sources
`)
	got := SuiteVersions(madison, "less", "bookworm")
	if len(got) != 1 || !got["590-2.1~deb12u1"] {
		t.Errorf("SuiteVersions = %v, want only bookworm's own source version", got)
	}
}
