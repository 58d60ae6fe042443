package batch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"pkgbox/build"
	"pkgbox/store"
)

func TestReadList(t *testing.T) {
	items, err := ReadList("list.txt", strings.NewReader("# rebuild\n./hello-c\n\n  hello=2.10-3  # the archive's\nsrc/x_1.0.dsc\n"))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		got = append(got, it.Origin+" "+it.Input)
	}
	want := "list.txt:2 ./hello-c|list.txt:4 hello=2.10-3|list.txt:5 src/x_1.0.dsc"
	if strings.Join(got, "|") != want {
		t.Errorf("got %q, want %q", strings.Join(got, "|"), want)
	}
}

func TestReadListErrors(t *testing.T) {
	_, err := ReadList("list.txt", strings.NewReader("hello\nhello world\n"))
	if err == nil || !strings.HasPrefix(err.Error(), `list.txt:2: "hello world": want one source a line`) {
		t.Errorf("got %v", err)
	}
	err = CheckDuplicates(append(ArgItems([]string{"a", "b"}), Item{Input: "a", Origin: "l:7"}))
	if err == nil || err.Error() != `l:7: "a" is listed already (argument 1)` {
		t.Errorf("got %v", err)
	}
}

func TestParseShard(t *testing.T) {
	for _, ok := range []string{"1/1", "2/8", "8/8"} {
		if _, err := ParseShard(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "0/4", "5/4", "1/0", "a/b", "1", "-1/3", "1/2/3"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestShardsCoverList shows that the N shards of a list together are the
// list, each source in exactly one, and that they are balanced.
func TestShardsCoverList(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7, 10, 25} {
		for _, count := range []int{0, 1, 5, 10, 23, 100} {
			var items []Item
			for i := range count {
				items = append(items, Item{Input: fmt.Sprintf("src-%d", i)})
			}
			seen := map[string]int{}
			smallest, largest := count, 0
			for i := 1; i <= n; i++ {
				part := Shard{i, n}.Of(items)
				smallest, largest = min(smallest, len(part)), max(largest, len(part))
				for _, it := range part {
					seen[it.Input]++
				}
				again := Shard{i, n}.Of(items)
				if fmt.Sprint(again) != fmt.Sprint(part) {
					t.Errorf("shard %d/%d differs between two calls", i, n)
				}
			}
			for _, it := range items {
				if seen[it.Input] != 1 {
					t.Errorf("%d sources, %d shards: %s is in %d shards", count, n, it.Input, seen[it.Input])
				}
			}
			if len(seen) != count {
				t.Errorf("%d sources, %d shards: %d in all", count, n, len(seen))
			}
			if largest-smallest > 1 {
				t.Errorf("%d sources, %d shards: parts of %d to %d sources", count, n, smallest, largest)
			}
		}
	}
}

func TestDefaultJobs(t *testing.T) {
	const g = 1 << 30
	for _, c := range []struct {
		builds, jobs, cpus int
		mem                int64
		wantB, wantJ       int
	}{
		{0, 0, 2, 23 * g, 2, 1},  // this machine
		{0, 0, 16, 8 * g, 4, 4},  // memory-bound
		{0, 4, 16, 64 * g, 4, 4}, // each build's -j given
		{0, 8, 2, 64 * g, 1, 8},  // -j above the CPUs: one at a time
		{3, 0, 12, 64 * g, 3, 4}, // -J given: -j is its share
		{2, 6, 2, 1 * g, 2, 6},   // both given: as given
		{0, 0, 4, 0, 4, 1},       // memory unknown
	} {
		b, j := DefaultJobs(c.builds, c.jobs, c.cpus, c.mem)
		if b != c.wantB || j != c.wantJ {
			t.Errorf("DefaultJobs(%d, %d, %d, %d GiB) = %d, %d; want %d, %d", c.builds, c.jobs, c.cpus, c.mem/g, b, j, c.wantB, c.wantJ)
		}
	}
}

func TestClassifyAndExit(t *testing.T) {
	failed := &build.FailedError{Phase: "build", Log: "x.build"}
	full := &build.FailedError{Phase: "build", Err: &store.NoSpaceError{Dir: "/s"}}
	for _, c := range []struct {
		err  error
		want Outcome
	}{
		{nil, Built},
		{failed, Failed},
		{fmt.Errorf("wrapped: %w", failed), Failed},
		{full, Errored},
		{errors.New("no such root"), Errored},
		{context.Canceled, Interrupted},
		{fmt.Errorf("%w: %w", context.Canceled, failed), Interrupted},
	} {
		if got := Classify(c.err); got != c.want {
			t.Errorf("Classify(%v) = %s, want %s", c.err, got, c.want)
		}
	}
	for _, c := range []struct {
		counts Counts
		want   int
	}{
		{Counts{Built: 3, Skipped: 1}, 0},
		{Counts{}, 0},
		{Counts{Built: 3, Failed: 1}, 3},
		{Counts{Failed: 1, NotBuilt: 4}, 3}, // --keep-going=false stopped after a failure
		{Counts{Failed: 1, Errored: 1}, 1},
		{Counts{Built: 1, NotBuilt: 1}, 1},
		{Counts{Built: 1, Interrupted: 1, Failed: 1}, 130},
	} {
		if got := c.counts.ExitStatus(); got != c.want {
			t.Errorf("%v: exit status %d, want %d", c.counts, got, c.want)
		}
	}
}

// TestRecordJSON pins the record's fields: the outcome beside the build's
// own result, inline, and that a report reads back what a batch wrote.
func TestRecordJSON(t *testing.T) {
	r := NewRecord("./fails", &build.Result{Source: "fails", Version: "1.0", Failed: "build", Log: "/o/fails.build"},
		&build.FailedError{Phase: "build", Log: "/o/fails.build"}, 1500*time.Millisecond)
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"input":"./fails"`, `"result":"failed"`, `"source":"fails"`, `"version":"1.0"`, `"failed_phase":"build"`, `"duration_ns":1500000000`, `"log":"/o/fails.build"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("%s lacks %s", data, want)
		}
	}
	var back Record
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.Outcome != Failed || back.Result == nil || back.Source != "fails" || back.Duration != r.Duration {
		t.Errorf("read back %+v", back)
	}
}
