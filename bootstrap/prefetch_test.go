package bootstrap

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

const packagesFixture = `Package: libc6
Version: 2.36-9
Architecture: amd64
Priority: optional
Filename: pool/main/g/glibc/libc6_2.36-9_amd64.deb
Size: 5
SHA256: 00
Depends: libgcc-s1

Package: base-files
Version: 12.4
Architecture: amd64
Priority: required
Pre-Depends: awk
Filename: pool/main/b/base-files/base-files_12.4_amd64.deb
Size: 5
SHA256: 00

Package: mawk
Version: 1.3.4
Architecture: amd64
Priority: required
Provides: awk
Depends: libc6 (>= 2.34)
Filename: pool/main/m/mawk/mawk_1.3.4_amd64.deb
Size: 5
SHA256: 00

Package: init-system-helpers
Version: 1.65
Architecture: all
Priority: required
Depends: usrmerge | usr-is-merged, perl-base:any
Filename: pool/main/i/ish/init-system-helpers_1.65_all.deb
Size: 5
SHA256: 00

Package: usrmerge
Version: 35
Architecture: all
Priority: optional
Depends: perl
Filename: pool/main/u/usrmerge/usrmerge_35_all.deb
Size: 5
SHA256: 00

Package: apt
Version: 1:2.6.1
Architecture: amd64
Priority: important
Depends: libc6
Filename: pool/main/a/apt/apt_2.6.1_amd64.deb
Size: 5
SHA256: 00

Package: libc6
Version: 2.99
Architecture: amd64
Filename: pool/other/libc6.deb
Size: 5
SHA256: 00

Package: nofile
Version: 1
Architecture: all
Priority: required
`

// TestPrefetchSet: the required packages, the variant's base and their
// dependencies (first alternatives, real packages only), in index order;
// never usrmerge; a stanza without a file is not fetched.
func TestPrefetchSet(t *testing.T) {
	index := map[string]*debEntry{}
	parsePackages([]byte(packagesFixture), index)
	names := func(variant string) []string {
		var out []string
		for _, e := range prefetchSet(index, variant, nil, false) {
			out = append(out, e.cacheName())
		}
		return out
	}
	want := []string{"libc6_2.36-9_amd64.deb", "base-files_12.4_amd64.deb", "mawk_1.3.4_amd64.deb", "init-system-helpers_1.65_all.deb"}
	if got := names("fakechroot"); !reflect.DeepEqual(got, want) {
		t.Errorf("fakechroot: %q, want %q", got, want)
	}
	want = append(want, "apt_1%3a2.6.1_amd64.deb")
	if got := names("minbase"); !reflect.DeepEqual(got, want) {
		t.Errorf("minbase: %q, want %q", got, want)
	}
	if e := index["init-system-helpers"]; !reflect.DeepEqual(e.Deps, []string{"usrmerge", "perl-base"}) {
		t.Errorf("init-system-helpers depends on %q", e.Deps)
	}
}

// TestPrefetchFetch: a file is named only once its size and SHA256 match
// the index, a file already there is left alone, and nothing but the
// named file stays in the cache. Each file checked, fetched or found in
// the cache, is marked for debootstrap's get, and only those.
func TestPrefetchFetch(t *testing.T) {
	body := "hello"
	sum := sha256.Sum256([]byte(body))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/debian/pool/bad.deb" {
			w.Write([]byte("HELLO"))
			return
		}
		w.Write([]byte(body))
	}))
	defer srv.Close()
	cache, checked := t.TempDir(), t.TempDir()
	f := &prefetcher{cache: cache, checked: checked, mirror: srv.URL + "/debian"}
	good := &debEntry{Package: "a", Version: "1:1", Arch: "all", Filename: "pool/a.deb", Size: 5, SHA256: hex.EncodeToString(sum[:])}
	bad := &debEntry{Package: "b", Version: "1", Arch: "all", Filename: "pool/bad.deb", Size: 5, SHA256: good.SHA256}
	short := &debEntry{Package: "c", Version: "1", Arch: "all", Filename: "pool/c.deb", Size: 6, SHA256: good.SHA256}
	ctx := context.Background()
	if n, err := f.fetch(ctx, http.DefaultClient, good); err != nil || n != 5 {
		t.Fatalf("fetch good = %d, %v", n, err)
	}
	if _, err := f.fetch(ctx, http.DefaultClient, bad); err == nil {
		t.Error("fetch of a file with the wrong SHA256 succeeded")
	}
	if _, err := f.fetch(ctx, http.DefaultClient, short); err == nil {
		t.Error("fetch of a file of the wrong size succeeded")
	}
	if n, err := f.fetch(ctx, http.DefaultClient, good); err != nil || n != 0 {
		t.Errorf("second fetch of good = %d, %v; want it left alone", n, err)
	}
	// Left by an earlier create: one sound, one damaged.
	kept := &debEntry{Package: "d", Version: "1", Arch: "all", Filename: "pool/d.deb", Size: 5, SHA256: good.SHA256}
	damaged := &debEntry{Package: "e", Version: "1", Arch: "all", Filename: "pool/e.deb", Size: 5, SHA256: good.SHA256}
	os.WriteFile(filepath.Join(cache, kept.cacheName()), []byte(body), 0o644)
	os.WriteFile(filepath.Join(cache, damaged.cacheName()), []byte("HELLO"), 0o644)
	for _, e := range []*debEntry{kept, damaged} {
		if n, err := f.fetch(ctx, http.DefaultClient, e); err != nil || n != 0 {
			t.Errorf("fetch of %s, in the cache = %d, %v; want it left alone", e.Package, n, err)
		}
	}
	names := func(dir string) []string {
		ents, _ := os.ReadDir(dir)
		var got []string
		for _, e := range ents {
			got = append(got, e.Name())
		}
		return got
	}
	if got := names(cache); !reflect.DeepEqual(got, []string{"a_1%3a1_all.deb", "d_1_all.deb", "e_1_all.deb"}) {
		t.Errorf("cache holds %q", got)
	}
	if got, want := names(checked), []string{good.SHA256 + "-5-a_1%3a1_all.deb", good.SHA256 + "-5-d_1_all.deb"}; !reflect.DeepEqual(got, want) {
		t.Errorf("marked %q, want %q", got, want)
	}
	if data, _ := os.ReadFile(filepath.Join(cache, "a_1%3a1_all.deb")); string(data) != body {
		t.Errorf("cached file holds %q", data)
	}
}

// TestPrefetchStartsAfterIndex: in a recorded cold bootstrap, the fetch
// starts once the Packages index is validated and the index download
// reported complete, not at the meter's last line before validation, and
// well before debootstrap resolves dependencies.
func TestPrefetchStartsAfterIndex(t *testing.T) {
	rec, err := os.Open(recording("bookworm-minbase-cold.fd3"))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	var seen []Event
	at := -1
	f := &prefetcher{}
	f.ready = func(context.Context) { at = len(seen) }
	_ = ParseProgress(rec, func(e Event) {
		f.event(context.Background(), e)
		seen = append(seen, e)
	})
	if at < 1 {
		t.Fatalf("the fetch never started (at %d)", at)
	}
	trigger, before := seen[at], seen[at-1]
	if trigger.Kind != KindProgress || trigger.Phase != "DOWNPKGS" || before.Name != "VALIDATING" {
		t.Errorf("started at %+v after %+v, want the DOWNPKGS report after VALIDATING", trigger, before)
	}
	for _, e := range seen[:at] {
		if e.Name == "RESOLVEREQ" {
			t.Errorf("started after RESOLVEREQ")
		}
	}
}
