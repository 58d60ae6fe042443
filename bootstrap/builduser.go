package bootstrap

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// The build user's id. Builds ran as 1000 once, which on most hosts is the
// first person's account: to the kernel, a build's processes were that
// person's. Debian reserves 65000-65533 (policy 9.2.2) and no tool hands
// them out, so pkgbox takes the first id there that no host account or
// group and no subordinate id range uses, checked when a root is made.
const (
	firstBuildID = 65100
	lastBuildID  = 65533
)

// hostIDFiles are the host files whose ids the build user must avoid.
var hostIDFiles = struct{ passwd, group, subuid, subgid string }{"/etc/passwd", "/etc/group", "/etc/subuid", "/etc/subgid"}

// hostBuildID chooses the build user's uid (and gid, the same) for this host.
func hostBuildID() (int, error) {
	var used idSet
	for _, f := range []struct {
		path string
		read func(io.Reader, *idSet)
	}{{hostIDFiles.passwd, readIDColumn}, {hostIDFiles.group, readIDColumn}, {hostIDFiles.subuid, readSubIDs}, {hostIDFiles.subgid, readSubIDs}} {
		file, err := os.Open(f.path)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("choose the build user's id: %w", err)
		}
		f.read(file, &used)
		file.Close()
	}
	return chooseBuildID(&used)
}

// chooseBuildID is the first id of the build range not in used.
func chooseBuildID(used *idSet) (int, error) {
	for id := firstBuildID; id <= lastBuildID; id++ {
		if !used.has(id) {
			return id, nil
		}
	}
	return 0, fmt.Errorf("choose the build user's id: every id from %d to %d is a host account's or in a subordinate range", firstBuildID, lastBuildID)
}

// idSet is a set of ids and id ranges.
type idSet struct{ ranges [][2]int }

func (s *idSet) add(first, count int) { s.ranges = append(s.ranges, [2]int{first, first + count}) }

func (s *idSet) has(id int) bool {
	for _, r := range s.ranges {
		if id >= r[0] && id < r[1] {
			return true
		}
	}
	return false
}

// readIDColumn reads the ids of passwd(5) or group(5): the third field.
func readIDColumn(r io.Reader, s *idSet) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 3 {
			continue
		}
		if id, err := strconv.Atoi(f[2]); err == nil {
			s.add(id, 1)
		}
	}
}

// readSubIDs reads subuid(5) or subgid(5): NAME:FIRST:COUNT.
func readSubIDs(r io.Reader, s *idSet) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) != 3 {
			continue
		}
		first, err1 := strconv.Atoi(f[1])
		count, err2 := strconv.Atoi(f[2])
		if err1 == nil && err2 == nil && count > 0 {
			s.add(first, count)
		}
	}
}
