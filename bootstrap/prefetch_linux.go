package bootstrap

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// prefetchWorkers is how many packages pkgbox fetches at a time: enough to
// hide the mirror's latency, few enough to be polite to it.
const prefetchWorkers = 6

// prefetcher fetches, while debootstrap resolves dependencies, the
// packages it is about to download one by one (see prefetch.go).
type prefetcher struct {
	fs    *rootFS // the root being made, where debootstrap put its indexes
	cache string  // debootstrap's --cache-dir
	// checked is where the packages of cache that the prefetch has
	// checked are marked for debootstrap's get, or "" (debootstrapDir).
	checked string
	mirror  string
	suite   string
	arch    string
	variant string
	include []string
	log     io.Writer

	// ready starts the fetch: begin, or a test's stand-in.
	ready func(context.Context)
	// validatedIndex: the last event was the validation of an index.
	validatedIndex bool
	once           sync.Once
	mu             sync.Mutex // guards cancel and msgs
	cancel         context.CancelFunc
	msgs           []string
	wg             sync.WaitGroup

	fetched, bytes, failed, marked atomic.Int64
	total                          int
	start                          time.Time
	last                           atomic.Int64 // when the last fetch ended, in ns since start
}

// newPrefetcher returns nil where there is nothing to do: no mirror pkgbox
// knows (debootstrap's default), or one that is not plain HTTP(S).
func newPrefetcher(fs *rootFS, cache, checked string, p *Plan, log io.Writer) *prefetcher {
	if !strings.HasPrefix(p.Mirror, "http://") && !strings.HasPrefix(p.Mirror, "https://") {
		return nil
	}
	if log == nil {
		log = io.Discard
	}
	f := &prefetcher{fs: fs, cache: cache, checked: checked, mirror: strings.TrimSuffix(p.Mirror, "/"), suite: p.Suite,
		arch: p.Arch, variant: p.Variant, include: p.Include, log: log}
	f.ready = f.begin
	return f
}

// event watches debootstrap's reports and starts the fetch once its
// Packages indexes are in place and checked. debootstrap says "Validating
// Packages" before it checks (and decompresses) an index, and reports its
// index download complete after; ParseProgress hands a message on only
// when the next one starts, so the validation of the last index arrives
// just before that report: the moment to begin. Resolving dependencies
// (RESOLVEREQ, held back until the required packages are resolved) and
// sizing the downloads come later and are there in case that moment was
// missed.
func (f *prefetcher) event(ctx context.Context, e Event) {
	if f == nil {
		return
	}
	indexDone := f.validatedIndex && e.Kind == KindProgress && e.Phase == "DOWNPKGS" && e.Total > 0 && e.Now >= e.Total
	f.validatedIndex = e.Name == "VALIDATING" && strings.HasPrefix(e.Text, "Validating Packages")
	if indexDone || e.Name == "RESOLVEREQ" || e.Name == "RESOLVEBASE" || (e.Kind == KindProgress && (e.Phase == "SIZEDEBS" || e.Phase == "DOWNDEBS")) {
		f.once.Do(func() { f.ready(ctx) })
	}
	// Past its downloads debootstrap has every package it wants: what is
	// still being fetched, it does not.
	if e.Kind == KindProgress && e.Phase == "EXTRACTPKGS" {
		f.mu.Lock()
		if f.cancel != nil {
			f.cancel()
		}
		f.mu.Unlock()
	}
}

// say keeps a line for the log, written by stop: the log is debootstrap's
// too, and written to by another goroutine meanwhile.
func (f *prefetcher) say(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, fmt.Sprintf("pkgbox: "+format+"\n", args...))
}

// begin reads the indexes debootstrap checked against the signed Release
// file and starts the workers.
func (f *prefetcher) begin(ctx context.Context) {
	const lists = "/var/lib/apt/lists"
	names, err := f.fs.List(lists)
	if err != nil {
		f.say("no prefetch: %v", err)
		return
	}
	index := map[string]*debEntry{}
	suffix := "_binary-" + f.arch + "_Packages"
	for _, n := range names {
		if !strings.HasSuffix(n, suffix) || !strings.Contains(n, "_dists_"+f.suite+"_") {
			continue
		}
		data, _, err := f.fs.ReadFile(lists + "/" + n)
		if err != nil {
			f.say("no prefetch: %v", err)
			return
		}
		parsePackages(data, index)
	}
	set := prefetchSet(index, f.variant, f.include, strings.HasPrefix(f.mirror, "https://"))
	f.total, f.start = len(set), time.Now()
	f.mu.Lock()
	ctx, f.cancel = context.WithCancel(ctx)
	f.mu.Unlock()
	jobs := make(chan *debEntry)
	client := &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		MaxIdleConnsPerHost:   prefetchWorkers,
		ResponseHeaderTimeout: 30 * time.Second,
	}}
	for range prefetchWorkers {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			for e := range jobs {
				n, err := f.fetch(ctx, client, e)
				f.last.Store(int64(time.Since(f.start)))
				switch {
				case err == nil:
					f.fetched.Add(1)
					f.bytes.Add(n)
				case ctx.Err() == nil:
					f.failed.Add(1)
					f.say("prefetch %s: %v (debootstrap fetches it itself)", e.Package, err)
				}
			}
		}()
	}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer close(jobs)
		for _, e := range set {
			select {
			case jobs <- e:
			case <-ctx.Done():
				return
			}
		}
	}()
}

// fetch downloads e into the cache unless a file of its name is there,
// checks its size and SHA256 against the index, and only then gives it its
// name, never over a file debootstrap may be writing (RENAME_NOREPLACE).
// A file it has checked, fetched now or by an earlier create, it marks for
// debootstrap's get (see debootstrapDir).
func (f *prefetcher) fetch(ctx context.Context, client *http.Client, e *debEntry) (_ int64, retErr error) {
	name := e.cacheName()
	if name != filepath.Base(name) || strings.HasPrefix(name, ".") {
		return 0, fmt.Errorf("unusable file name %q", name)
	}
	dest := filepath.Join(f.cache, name)
	if _, err := os.Lstat(dest); err == nil {
		// A file that does not match is debootstrap's to replace.
		if f.checked != "" && matches(dest, e) {
			f.mark(e)
		}
		return 0, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.mirror+"/"+strings.TrimPrefix(e.Filename, "/"), nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s", resp.Status)
	}
	tmp, err := os.CreateTemp(f.cache, ".pkgbox-prefetch-*")
	if err != nil {
		return 0, err
	}
	defer func() {
		tmp.Close()
		if retErr != nil {
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(resp.Body, e.Size+1))
	if err != nil {
		return 0, err
	}
	if n != e.Size {
		return 0, fmt.Errorf("%d bytes, the index says %d", n, e.Size)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != e.SHA256 {
		return 0, fmt.Errorf("SHA256 %s, the index says %s", sum, e.SHA256)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return 0, err
	}
	if err := tmp.Close(); err != nil {
		return 0, err
	}
	err = unix.Renameat2(unix.AT_FDCWD, tmp.Name(), unix.AT_FDCWD, dest, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EEXIST) {
		os.Remove(tmp.Name()) // debootstrap got there first
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	f.mark(e)
	return n, nil
}

// matches reports whether the file at path is a regular file of e's size
// and SHA256.
func matches(path string, e *debEntry) bool {
	file, err := os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return false
	}
	defer file.Close()
	if st, err := file.Stat(); err != nil || !st.Mode().IsRegular() || st.Size() != e.Size {
		return false
	}
	h := sha256.New()
	if n, err := io.Copy(h, io.LimitReader(file, e.Size+1)); err != nil || n != e.Size {
		return false
	}
	return hex.EncodeToString(h.Sum(nil)) == e.SHA256
}

// mark tells debootstrap's get (debootstrapDir) that e's file in the cache
// is checked. Without a mark debootstrap checks it itself.
func (f *prefetcher) mark(e *debEntry) {
	if f.checked == "" {
		return
	}
	m := checkedMark(e.SHA256, e.Size, e.cacheName())
	if m == "" {
		return
	}
	file, err := os.OpenFile(filepath.Join(f.checked, m), os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o644)
	if err != nil {
		if !errors.Is(err, unix.EEXIST) {
			f.say("mark %s as checked: %v (debootstrap checks it itself)", e.Package, err)
		}
		return
	}
	file.Close()
	f.marked.Add(1)
}

// stop cancels what is left, once debootstrap is gone, waits for the
// workers and writes to the log what the prefetch did.
func (f *prefetcher) stop() {
	if f == nil {
		return
	}
	f.mu.Lock()
	cancel := f.cancel
	f.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	f.wg.Wait()
	for _, m := range f.msgs {
		io.WriteString(f.log, m)
	}
	fmt.Fprintf(f.log, "pkgbox: prefetched %d of %d packages (%.1f MB), %d at a time, in %.1fs; %d failed; %d marked as checked for debootstrap; debootstrap finished %.1fs after the start\n",
		f.fetched.Load(), f.total, float64(f.bytes.Load())/1e6, prefetchWorkers, time.Duration(f.last.Load()).Seconds(),
		f.failed.Load(), f.marked.Load(), time.Since(f.start).Seconds())
}
