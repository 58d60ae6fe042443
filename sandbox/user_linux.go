package sandbox

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

type user struct {
	name     string
	uid, gid uint32
	groups   []uint32
	home     string
}

// lookupUser finds a user of the root by name or number in its /etc/passwd
// and /etc/group. It parses the files itself on purpose: os/user with cgo
// would load the root's NSS modules into the init, which would let a hostile
// root run its code in pkgbox's PID 1.
func lookupUser(spec string) (*user, error) {
	if spec == "" || spec == "root" || spec == "0" {
		return &user{name: "root", home: "/root"}, nil
	}
	passwd, err := readColonFile("/etc/passwd")
	if err != nil {
		return nil, fmt.Errorf("look up user %q: %w", spec, err)
	}
	var u *user
	for _, f := range passwd {
		if len(f) < 7 || (f[0] != spec && f[2] != spec) {
			continue
		}
		uid, err1 := strconv.ParseUint(f[2], 10, 32)
		gid, err2 := strconv.ParseUint(f[3], 10, 32)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("look up user %q: bad line for it in the root's /etc/passwd", spec)
		}
		u = &user{name: f[0], uid: uint32(uid), gid: uint32(gid), home: f[5]}
		break
	}
	if u == nil {
		// A bare number that the root does not know is still a valid uid.
		uid, err := strconv.ParseUint(spec, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("look up user %q: no such user in the root's /etc/passwd", spec)
		}
		return &user{name: spec, uid: uint32(uid), gid: uint32(uid)}, nil
	}
	groups, err := readColonFile("/etc/group")
	if err != nil {
		return nil, fmt.Errorf("look up groups of %q: %w", spec, err)
	}
	u.groups = []uint32{u.gid}
	for _, f := range groups {
		if len(f) < 4 {
			continue
		}
		for _, member := range strings.Split(f[3], ",") {
			if member == u.name {
				if gid, err := strconv.ParseUint(f[2], 10, 32); err == nil && uint32(gid) != u.gid {
					u.groups = append(u.groups, uint32(gid))
				}
			}
		}
	}
	return u, nil
}

// readColonFile splits a passwd(5)-style file into fields, skipping comments.
func readColonFile(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		lines = append(lines, strings.Split(line, ":"))
	}
	return lines, sc.Err()
}
