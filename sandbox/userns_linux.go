package sandbox

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	osuser "os/user"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Rootless mode. An ordinary user gets root's powers over a sandbox through
// a user namespace whose map covers the 65536 ids of a Debian root: the
// caller is root inside, and its subordinate range (/etc/subuid,
// /etc/subgid) is every other id. Only the setuid helpers newuidmap and
// newgidmap (package uidmap) may write such a map, so Go's own
// SysProcAttr.UidMappings, which writes /proc/PID/uid_map itself, cannot
// serve: the init is cloned with CLONE_NEWUSER and no map, the parent runs
// the helpers, and only then lets the init go on. The init's first exec
// happened before the map existed, so the kernel gave it no capabilities;
// it execs itself once more (userns stage, below) and so becomes root of
// the namespace with all of them. sbuild's unshare mode, podman and
// rootlesskit do the same.

// initStageUserns is argv[2] of an init cloned into a user namespace that
// has no map yet: it waits for one, then re-executes itself.
const initStageUserns = "userns"

// SubIDCount is the number of subordinate ids a rootless sandbox maps
// besides the caller's own: a Debian root's ids run from 0 to 65535
// (nobody is 65534), and the caller stands for 0.
const SubIDCount = 65535

// SubIDError says the calling user has no subordinate range that rootless
// mode can map.
type SubIDError struct {
	File string // /etc/subuid or /etc/subgid
	User string
	Err  error
}

func (e *SubIDError) Error() string {
	return fmt.Sprintf("rootless mode: %s: %v", e.File, e.Err)
}

func (e *SubIDError) Unwrap() error { return e.Err }

// Hint says how to get a range.
func (e *SubIDError) Hint() string {
	flag := "--add-subuids"
	if strings.HasSuffix(e.File, "subgid") {
		flag = "--add-subgids"
	}
	return fmt.Sprintf("an administrator gives %s a range with `sudo usermod %s 100000-165535 %s` (any free range of 65536 ids), or run pkgbox as root",
		e.User, flag, e.User)
}

// UserNSError says the sandbox's user namespace could not be set up.
type UserNSError struct {
	Step string
	Err  error
}

func (e *UserNSError) Error() string {
	return fmt.Sprintf("rootless mode: %s: %v", e.Step, e.Err)
}

func (e *UserNSError) Unwrap() error { return e.Err }

// Hint says what usually lacks.
func (e *UserNSError) Hint() string {
	var exe *exec.Error
	if errors.As(e.Err, &exe) {
		return "install the setuid helpers newuidmap and newgidmap: sudo apt-get install uidmap"
	}
	return "the kernel or a security module refuses user namespaces to this user"
}

// SubIDRange is one line of /etc/subuid or /etc/subgid.
type SubIDRange struct {
	Start, Count uint32
}

// ParseSubIDs returns the ranges that the subid file data (lines
// "NAME_OR_UID:FIRST:COUNT", as shadow's newuidmap reads them) gives the
// user called name, whose number is uid. Malformed lines are skipped, as
// newuidmap skips them.
func ParseSubIDs(data []byte, name string, uid int) []SubIDRange {
	var out []SubIDRange
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) != 3 || (f[0] != name && f[0] != strconv.Itoa(uid)) {
			continue
		}
		start, err1 := strconv.ParseUint(f[1], 10, 32)
		count, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 != nil || err2 != nil || count == 0 {
			continue
		}
		out = append(out, SubIDRange{Start: uint32(start), Count: uint32(count)})
	}
	return out
}

// RootlessMaps returns the uid and gid maps of a rootless sandbox for the
// calling user: the caller's own id as 0, then the user's ranges of
// /etc/subuid (/etc/subgid), in the file's order, as 1 to 65535.
func RootlessMaps() (uidMap, gidMap []IDMap, err error) {
	name := strconv.Itoa(os.Getuid())
	if u, err := osuser.LookupId(name); err == nil {
		name = u.Username
	}
	uidMap, err = rootlessMap("/etc/subuid", name, os.Getuid())
	if err != nil {
		return nil, nil, err
	}
	gidMap, err = rootlessMap("/etc/subgid", name, os.Getgid())
	if err != nil {
		return nil, nil, err
	}
	return uidMap, gidMap, nil
}

// rootlessMap builds one map from file for the user called name; self is
// the user's own uid (or gid), which becomes 0 inside.
func rootlessMap(file, name string, self int) ([]IDMap, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, &SubIDError{File: file, User: name, Err: err}
	}
	m := []IDMap{{Inside: 0, Outside: uint32(self), Count: 1}}
	next := uint32(1) // the next id inside to map
	for _, r := range ParseSubIDs(data, name, os.Getuid()) {
		n := min(r.Count, SubIDCount+1-next)
		m = append(m, IDMap{Inside: next, Outside: r.Start, Count: n})
		if next += n; next > SubIDCount {
			return m, nil
		}
	}
	return nil, &SubIDError{File: file, User: name,
		Err: fmt.Errorf("%s has %d subordinate ids, rootless mode needs %d", name, next-1, SubIDCount)}
}

// writeIDMaps gives the user namespace of process pid its maps through
// newuidmap and newgidmap.
func writeIDMaps(pid int, uidMap, gidMap []IDMap) error {
	for _, m := range []struct {
		helper string
		idMap  []IDMap
	}{{"newuidmap", uidMap}, {"newgidmap", gidMap}} {
		args := []string{strconv.Itoa(pid)}
		for _, e := range m.idMap {
			args = append(args, strconv.FormatUint(uint64(e.Inside), 10),
				strconv.FormatUint(uint64(e.Outside), 10), strconv.FormatUint(uint64(e.Count), 10))
		}
		bin, err := exec.LookPath(m.helper)
		if err != nil {
			return &UserNSError{Step: "map ids", Err: err}
		}
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{}
		out, err := cmd.CombinedOutput()
		if err != nil {
			msg := strings.TrimSpace(string(out))
			if msg == "" {
				msg = err.Error()
			}
			return &UserNSError{Step: m.helper, Err: errors.New(msg)}
		}
	}
	return nil
}

// usernsStage is the first stage of a process cloned into a user
// namespace that has no map yet (the init, RemoveTree's and UserCommand's
// helpers): it blocks on descriptor goFD until pkgbox has written the maps
// and sends one newline, then execs next (this binary again), now as root
// of the namespace, which gives it the capabilities its first exec could
// not have. The newline is the only byte it reads: what follows on the
// pipe is the next stage's. EOF means pkgbox died: it exits. A failure is
// told to fail, which must exit.
func usernsStage(goFD int, next []string, fail func(error)) {
	var b [1]byte
	for {
		n, err := unix.Read(goFD, b[:])
		if err == unix.EINTR {
			continue
		}
		if n != 1 || err != nil || b[0] != '\n' {
			os.Exit(1)
		}
		break
	}
	if os.Getuid() != 0 || os.Getgid() != 0 {
		fail(&UserNSError{Step: "enter user namespace",
			Err: fmt.Errorf("still uid %d, gid %d after the maps were written", os.Getuid(), os.Getgid())})
	}
	err := unix.Exec("/proc/self/exe", next, os.Environ())
	fail(&UserNSError{Step: "re-execute " + os.Args[1], Err: err})
}

// failStatus reports err on fdStatus, as the init does, and exits.
func failStatus(err error) {
	_ = json.NewEncoder(os.NewFile(fdStatus, "status")).Encode(statusOf(err))
	os.Exit(1)
}

// enterUserns finishes the second stage's entry into the user namespace:
// the caller's supplementary groups, unmapped and shown as nogroup, are
// dropped, and the parent-death signal that the exec cleared is set again.
func enterUserns() error {
	if err := unix.Setgroups(nil); err != nil {
		return &UserNSError{Step: "drop supplementary groups", Err: err}
	}
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return &UserNSError{Step: "set parent-death signal", Err: err}
	}
	return nil
}
