package build

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"pkgbox/sandbox"
	"pkgbox/session"
	"pkgbox/store"
)

// The compiler cache (build --ccache, issue 12), as Fedora's mock offers it
// with its ccache plugin: the store keeps a ccache directory per root and
// architecture (store.Ccache), the build's session binds it read-write at
// ccacheDir, ccache comes with the build dependencies (and so lands in the
// dependency layer, whose key then differs from a build without it), and
// dpkg-buildpackage runs with ccache's masquerade directory first in PATH,
// so that gcc, cc, g++ and the triplet-named compilers are ccache's links.
// The cache belongs to the root's build user, who writes it; a build can
// therefore poison it for the later builds of the same root, which is why
// it is asked for, never a default.

// ccacheDir is where a build sees its compiler cache.
const ccacheDir = "/var/cache/pkgbox-ccache"

// ccacheMasquerade holds ccache's links named after the compilers.
const ccacheMasquerade = "/usr/lib/ccache"

// ccacheStatsLog is where ccache (4 and later) logs what each compilation
// of the build did: in the session, so that it counts this build only,
// whatever other builds of the root do meanwhile (batch builds).
const ccacheStatsLog = "/build/.pkgbox-ccache-stats"

// statsLogMark separates --print-stats from the stats log in ccacheStats'
// output.
const statsLogMark = "pkgbox: stats log"

// CcacheUse says what the compiler cache did in a build: the build's own
// stats log, or with a ccache that writes none, its counters, zeroed
// before dpkg-buildpackage and read after it.
type CcacheUse struct {
	// Dir is the cache directory on the host.
	Dir    string `json:"dir"`
	Hits   int64  `json:"hits"`
	Misses int64  `json:"misses"`
	// HitRate is Hits/(Hits+Misses), 0 when the build compiled nothing.
	HitRate float64 `json:"hit_rate"`
	// Size is what the cache holds after the build; MaxSize its bound.
	Size    int64 `json:"size"`
	MaxSize int64 `json:"max_size"`
}

// openCcache opens and locks the root's compiler cache for the build, when
// asked for; a root given by path has none (the store keeps caches of its
// own roots), which the log says.
func (b *builder) openCcache(ctx context.Context) error {
	if !b.req.Ccache {
		return nil
	}
	if _, err := b.req.Store.Root(b.res.Root); err != nil {
		b.log.Printf("warning: no compiler cache: %s is not a root of the store", b.res.Root)
		return nil
	}
	max := b.req.CcacheMaxSize
	if max <= 0 {
		max = store.DefaultCcacheMaxSize
	}
	c, err := b.req.Store.OpenCcache(ctx, b.res.Root, b.arch+b.req.ccacheSalt, max)
	if err != nil {
		return err
	}
	b.ccache = c
	b.res.Ccache = &CcacheUse{Dir: c.Dir, MaxSize: max}
	b.log.Printf("compiler cache: %s (at most %s), bound at %s", c.Dir, FormatSize(max), ccacheDir)
	return nil
}

// ccacheMount binds the cache directory, opened without following a link.
func (b *builder) ccacheMount() (sandbox.Mount, *os.File, error) {
	f, err := b.ccache.Open()
	if err != nil {
		return sandbox.Mount{}, nil, err
	}
	return sandbox.Mount{Type: sandbox.TypeBind, Source: b.ccache.Dir, File: f, Target: ccacheDir, Flags: sandbox.NoSuid | sandbox.NoDev}, f, nil
}

// ccacheEnv is what makes the build use the cache: ccache's links first in
// PATH, the cache's place and its bound. The bound is in KiB, a suffix
// every ccache since 3.2 reads the same way (a bare number means GB).
func ccacheEnv(maxSize int64) []string {
	return []string{
		"PATH=" + ccacheMasquerade + ":" + session.DefaultPath,
		"CCACHE_DIR=" + ccacheDir,
		"CCACHE_STATSLOG=" + ccacheStatsLog,
		fmt.Sprintf("CCACHE_MAXSIZE=%dKi", max(maxSize>>10, 1)),
	}
}

// ccacheRun runs args as the build user with the cache bound, its output
// going to the log, or into out when it is not nil.
func (b *builder) ccacheRun(ctx context.Context, out *strings.Builder, args ...string) error {
	m, f, err := b.ccacheMount()
	if err != nil {
		return err
	}
	defer f.Close()
	c := &session.Command{Args: args, User: BuildUser, Env: ccacheEnv(b.res.Ccache.MaxSize),
		Mounts: []sandbox.Mount{m}}
	if out != nil {
		c.Stdio.Stdout = out
	}
	return b.sandboxRun(ctx, c)
}

// ccacheStats reads ccache's counters after the build into the result.
// Failing to is no reason to fail the build: an old ccache has no
// --print-stats, for one.
func (b *builder) ccacheStats(ctx context.Context) {
	var out strings.Builder
	// The build wrote the log and may have made it huge: pkgbox reads at
	// most 32 MiB of it (some 300000 compilations).
	script := "ccache --print-stats || exit\necho '" + statsLogMark + "'\nhead -c 33554432 " + ccacheStatsLog + " 2>/dev/null || true\n"
	if err := b.ccacheRun(ctx, &out, "/bin/sh", "-c", script); err != nil {
		b.log.Printf("warning: compiler cache statistics: %v", err)
		return
	}
	stats, log, found := strings.Cut(out.String(), statsLogMark+"\n")
	u := b.res.Ccache
	u.Hits, u.Misses, u.Size = parseCcacheStats(stats)
	source := "ccache's counters"
	if found && strings.TrimSpace(log) != "" {
		u.Hits, u.Misses = parseStatsLog(log)
		source = "the build's stats log"
	}
	if n := u.Hits + u.Misses; n > 0 {
		u.HitRate = float64(u.Hits) / float64(n)
	}
	b.log.Printf("compiler cache: %d hits, %d misses (%.0f%%, from %s), %s in the cache", u.Hits, u.Misses, 100*u.HitRate, source, FormatSize(u.Size))
}

// parseCcacheStats reads `ccache --print-stats` (tab-separated counters):
// hits (direct and preprocessed), misses and the cache's size in bytes.
// ccache 4 and 3 name the hit counters differently.
func parseCcacheStats(out string) (hits, misses, size int64) {
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), "\t")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "direct_cache_hit", "preprocessed_cache_hit", "cache_hit_direct", "cache_hit_preprocessed":
			hits += n
		case "cache_miss":
			misses += n
		case "cache_size_kibibyte":
			size = n << 10
		}
	}
	return hits, misses, size
}

// parseStatsLog counts the hits and misses in ccache's stats log: a
// "# FILE" line per compilation, then the counters it raised, one a line.
func parseStatsLog(log string) (hits, misses int64) {
	for _, line := range strings.Split(log, "\n") {
		switch strings.TrimSpace(line) {
		case "direct_cache_hit", "preprocessed_cache_hit":
			hits++
		case "cache_miss":
			misses++
		}
	}
	return hits, misses
}
