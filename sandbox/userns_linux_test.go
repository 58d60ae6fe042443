package sandbox_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"pkgbox/sandbox"
)

func TestParseSubIDs(t *testing.T) {
	data := []byte("# comment\nbob:100000:65536\nalice:165536:65536\n1000:300000:10\nalice:x:1\nalice:5:0\nalice:1:2:3\n")
	got := sandbox.ParseSubIDs(data, "alice", 1000)
	want := []sandbox.SubIDRange{{Start: 165536, Count: 65536}, {Start: 300000, Count: 10}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestRootlessMap(t *testing.T) {
	tests := []struct {
		name, file string
		want       []sandbox.IDMap
	}{
		{"one range", "alice:100000:65536\n", []sandbox.IDMap{{0, 1000, 1}, {1, 100000, 65535}}},
		{"two ranges", "alice:100000:30000\nalice:200000:40000\n", []sandbox.IDMap{{0, 1000, 1}, {1, 100000, 30000}, {30001, 200000, 35535}}},
		{"too few", "alice:100000:1000\n", nil},
		{"someone else's", "bob:100000:65536\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "subuid")
			if err := os.WriteFile(path, []byte(tt.file), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := sandbox.RootlessMap(path, "alice", 1000)
			if tt.want == nil {
				var se *sandbox.SubIDError
				if !errors.As(err, &se) || se.Hint() == "" {
					t.Errorf("err = %v, want a SubIDError with a hint", err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
