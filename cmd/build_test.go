package cmd

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"pkgbox/build"
	"pkgbox/store"
)

// A package that fails to build is exit status 3; a build stopped by a
// full store is pkgbox's failure, exit status 1, with the store named and
// a hint.
func TestBuildErrorExitCodes(t *testing.T) {
	full := &store.NoSpaceError{Dir: "/var/lib/pkgbox", Err: errors.New("dpkg-buildpackage exited with status 2")}
	tests := []struct {
		name string
		err  error
		code int
		want []string
	}{
		{"package failed", &build.FailedError{Phase: "build", Log: "/o/p.build"},
			ExitBuildFailed, []string{"pkgbox: build failed; the full log is /o/p.build\n"}},
		{"over a limit", &build.FailedError{Phase: "build", Log: "/o/p.build", Reason: "it ran into the process limit (--pids 200)"},
			ExitBuildFailed, []string{"pkgbox: build failed: it ran into the process limit (--pids 200); the full log is /o/p.build\n"}},
		{"full store", &build.FailedError{Phase: "build", Log: "/o/p.build", Reason: "no space left in the store /var/lib/pkgbox, which holds the build's session", Err: full},
			ExitError, []string{"pkgbox: build failed: no space left in the store /var/lib/pkgbox, which holds the build's session; the full log is /o/p.build\n", "hint: free space on the file system that holds it"}},
		{"full store before the build", &store.NoSpaceError{Dir: "/s", Err: unix.ENOSPC},
			ExitError, []string{"pkgbox: no space left in the store /s: no space left on device\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			code := report(&out, buildError(&out, tt.err), false)
			if code != tt.code {
				t.Errorf("exit status %d, want %d; output:\n%s", code, tt.code, out.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output:\n%s\nwant %q in it", out.String(), w)
				}
			}
			if n := strings.Count(out.String(), "pkgbox: "); n != 1 {
				t.Errorf("%d error lines:\n%s", n, out.String())
			}
		})
	}
}

// The summary of a build through the compiler cache says how it did.
func TestSummaryCcache(t *testing.T) {
	var out bytes.Buffer
	printSummary(&out, &out, &build.Result{Source: "hello", Version: "2.10-3", Root: "bookworm", Arch: "amd64", Log: "/o/l.build",
		Ccache: &build.CcacheUse{Hits: 9, Misses: 3, HitRate: 0.75, Size: 3 << 20, MaxSize: 2 << 30}}, nil)
	want := "  compiler cache: 9 hits, 3 misses (75% hit rate), 3M of 2G used\n"
	if !strings.Contains(out.String(), want) {
		t.Errorf("summary:\n%s\nwant %q in it", out.String(), want)
	}
}
