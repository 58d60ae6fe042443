package build

import (
	"slices"
	"strings"
	"testing"
	"time"

	"pkgbox/store"
)

// A build with --ccache installs ccache with the compiler set, so its
// layer is another one than a build without.
func TestCcacheLayerKey(t *testing.T) {
	root := &store.Root{Name: "test", Created: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	key := func(ccache bool) string {
		p := &depsPlan{Arch: "amd64", Depends: joinDeps(baseDepends(ccache), "zlib1g-dev")}
		return hashString(layerKeyText(root, p, nil, "lists", nil, ""))
	}
	if key(true) == key(false) {
		t.Error("builds with and without the compiler cache get the same layer key")
	}
	if !strings.Contains(baseDepends(true), "ccache") || strings.Contains(baseDepends(false), "ccache") {
		t.Errorf("base dependencies: %q with the cache, %q without", baseDepends(true), baseDepends(false))
	}
}

func TestParseCcacheStats(t *testing.T) {
	for _, c := range []struct {
		name, out          string
		hits, misses, size int64
	}{
		// ccache 4.7's --print-stats (bookworm), abridged.
		{"ccache 4", "autoconf_test\t0\ncache_miss\t3\ncache_size_kibibyte\t120\ncalled_for_link\t2\ndirect_cache_hit\t5\npreprocessed_cache_hit\t1\nstats_zeroed_timestamp\t1764653400\n", 6, 3, 120 << 10},
		// ccache 3 names the hit counters the other way round.
		{"ccache 3", "cache_hit_direct\t4\ncache_hit_preprocessed\t0\ncache_miss\t1\ncache_size_kibibyte\t8\n", 4, 1, 8 << 10},
		{"nothing compiled", "cache_miss\t0\ncalled_for_link\t1\n", 0, 0, 0},
		{"not stats", "ccache: invalid option -- '-'\nUsage:\n", 0, 0, 0},
	} {
		h, m, s := parseCcacheStats(c.out)
		if h != c.hits || m != c.misses || s != c.size {
			t.Errorf("%s: %d hits, %d misses, %d bytes; want %d, %d, %d", c.name, h, m, s, c.hits, c.misses, c.size)
		}
	}
}

// The build finds ccache's compiler links first in PATH and the cache
// where it is bound, bounded in KiB (which every ccache reads alike).
func TestCcacheEnv(t *testing.T) {
	env := ccacheEnv(2 << 30)
	want := []string{"PATH=/usr/lib/ccache:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"CCACHE_DIR=/var/cache/pkgbox-ccache", "CCACHE_STATSLOG=/build/.pkgbox-ccache-stats", "CCACHE_MAXSIZE=2097152Ki"}
	if !slices.Equal(env, want) {
		t.Errorf("got %q, want %q", env, want)
	}
}

// ccache 4.7's stats log of a miss, a hit, a preprocessed hit and a link.
func TestParseStatsLog(t *testing.T) {
	log := "# a.c\ncache_miss\ndirect_cache_miss\nlocal_storage_miss\nlocal_storage_write\npreprocessed_cache_miss\n" +
		"# a.c\ndirect_cache_hit\nlocal_storage_hit\nlocal_storage_read_hit\n" +
		"# b.c\ndirect_cache_miss\npreprocessed_cache_hit\nlocal_storage_hit\n" +
		"# a.c\ncalled_for_link\n"
	if h, m := parseStatsLog(log); h != 2 || m != 1 {
		t.Errorf("%d hits, %d misses; want 2 and 1", h, m)
	}
}
