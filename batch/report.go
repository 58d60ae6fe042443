package batch

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"pkgbox/build"
)

// ReadRecords reads the records a batch wrote with --json, one a line, from
// r; name is its name in messages.
func ReadRecords(name string, r io.Reader) ([]*Record, error) {
	var recs []*Record
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Bytes()
		if len(line) == 0 {
			continue
		}
		var rec Record
		if err := json.Unmarshal(line, &rec); err != nil {
			return nil, fmt.Errorf("%s:%d: not a record of pkgbox build --json: %w", name, n, err)
		}
		if rec.Input == "" || rec.Outcome == "" {
			return nil, fmt.Errorf("%s:%d: not a record of pkgbox build --json: no input or result", name, n)
		}
		if rec.Result == nil {
			rec.Result = new(build.Result)
		}
		recs = append(recs, &rec)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read records %s: %w", name, err)
	}
	return recs, nil
}

// ReadRecordsFile reads the records in file path ("-" for standard input).
func ReadRecordsFile(path string, stdin io.Reader) ([]*Record, error) {
	if path == "-" {
		return ReadRecords("standard input", stdin)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read records: %w", err)
	}
	defer f.Close()
	return ReadRecords(path, f)
}

// Merge joins the records of several shards (or runs) into one list, in
// the order read; a source recorded twice (a shard run again) keeps its
// later record, in the place of the first. With a list (the batch's
// sources; nil for none), the report follows the list's order and every
// source without a record (a shard that never ran) is NotBuilt; records of
// sources not on the list are kept after it.
func Merge(runs [][]*Record, list []Item) []*Record {
	var out []*Record
	at := map[string]int{}
	for _, it := range list {
		if _, ok := at[it.Input]; ok {
			continue
		}
		at[it.Input] = len(out)
		rec := NewRecord(it.Input, nil, errNoRecord, 0)
		rec.Outcome = NotBuilt
		out = append(out, rec)
	}
	for _, recs := range runs {
		for _, r := range recs {
			if i, ok := at[r.Input]; ok {
				out[i] = r
				continue
			}
			at[r.Input] = len(out)
			out = append(out, r)
		}
	}
	return out
}

var errNoRecord = errors.New("no record: its shard did not run, or did not finish")
