package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// cgroupPrefix names the cgroups pkgbox makes, so that GCCgroups can tell
// its own leftovers (a pkgbox killed with SIGKILL cannot remove them).
const cgroupPrefix = "pkgbox-"

// cgroup is the control group a sandbox with Limits runs in: one directory
// per controller on cgroup v1 (pids, memory), one on the unified v2
// hierarchy. The init is born inside (see startIn and open), so everything
// it ever starts is inside too.
type cgroup struct {
	pids, memory string // directories; "" when that limit is not set
	v2           bool
}

// CgroupError says the machine's cgroups cannot apply a limit.
type CgroupError struct {
	Limit string
	Err   error
}

func (e *CgroupError) Error() string {
	return fmt.Sprintf("limit %s: %v", e.Limit, e.Err)
}

func (e *CgroupError) Unwrap() error { return e.Err }

// Hint says what to do.
func (e *CgroupError) Hint() string {
	return "this machine's cgroups do not offer that controller to pkgbox; run without the limit"
}

// newCgroup makes the cgroup for limits l, named name.
func newCgroup(name string, l Limits) (_ *cgroup, retErr error) {
	c := &cgroup{}
	defer func() {
		if retErr != nil {
			c.remove()
		}
	}()
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		// Unified hierarchy: a parent of pkgbox's own under the root, where
		// controllers can be enabled for children (the root cgroup is exempt
		// from the no-internal-processes rule).
		c.v2 = true
		parent := "/sys/fs/cgroup/pkgbox"
		if err := enableV2(parent, l); err != nil {
			return nil, err
		}
		dir := filepath.Join(parent, cgroupPrefix+name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, &CgroupError{Limit: "cgroup", Err: err}
		}
		c.pids, c.memory = dir, dir
		if l.Pids > 0 {
			if err := writeCgroup(dir, "pids.max", strconv.Itoa(l.Pids)); err != nil {
				return nil, &CgroupError{Limit: "--pids", Err: err}
			}
		}
		if l.Memory > 0 {
			if err := writeCgroup(dir, "memory.max", strconv.FormatInt(l.Memory, 10)); err != nil {
				return nil, &CgroupError{Limit: "--memory", Err: err}
			}
			_ = writeCgroup(dir, "memory.swap.max", "0")
		}
		return c, nil
	}
	if l.Pids > 0 {
		dir, err := v1Dir("pids", name)
		if err != nil {
			return nil, &CgroupError{Limit: "--pids", Err: err}
		}
		c.pids = dir
		if err := writeCgroup(dir, "pids.max", strconv.Itoa(l.Pids)); err != nil {
			return nil, &CgroupError{Limit: "--pids", Err: err}
		}
	}
	if l.Memory > 0 {
		dir, err := v1Dir("memory", name)
		if err != nil {
			return nil, &CgroupError{Limit: "--memory", Err: err}
		}
		c.memory = dir
		if err := writeCgroup(dir, "memory.limit_in_bytes", strconv.FormatInt(l.Memory, 10)); err != nil {
			return nil, &CgroupError{Limit: "--memory", Err: err}
		}
		// Without swap accounting this file is missing; the limit then
		// holds for memory only, which is what matters to the host.
		_ = writeCgroup(dir, "memory.memsw.limit_in_bytes", strconv.FormatInt(l.Memory, 10))
	}
	return c, nil
}

func enableV2(parent string, l Limits) error {
	var ctrl []string
	if l.Pids > 0 {
		ctrl = append(ctrl, "+pids")
	}
	if l.Memory > 0 {
		ctrl = append(ctrl, "+memory")
	}
	if err := writeCgroup("/sys/fs/cgroup", "cgroup.subtree_control", strings.Join(ctrl, " ")); err != nil {
		return &CgroupError{Limit: "cgroup", Err: err}
	}
	if err := os.Mkdir(parent, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return &CgroupError{Limit: "cgroup", Err: err}
	}
	if err := writeCgroup(parent, "cgroup.subtree_control", strings.Join(ctrl, " ")); err != nil {
		return &CgroupError{Limit: "cgroup", Err: err}
	}
	return nil
}

// v1Dir makes the sandbox's directory in the v1 hierarchy of controller,
// below the cgroup pkgbox itself is in, so that limits set above pkgbox
// (a container's, a systemd slice's) still hold for the sandbox.
func v1Dir(controller, name string) (string, error) {
	mnt, err := v1Mount(controller)
	if err != nil {
		return "", err
	}
	own, err := ownCgroup(controller)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(mnt, own, cgroupPrefix+name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	return dir, nil
}

// v1Mount finds where the v1 hierarchy holding controller is mounted.
func v1Mount(controller string) (string, error) {
	return CgroupV1Mount("/proc/self/mountinfo", controller)
}

// ownCgroup is this process's cgroup in controller's v1 hierarchy.
func ownCgroup(controller string) (string, error) {
	return OwnCgroup("/proc/self/cgroup", controller)
}

// CgroupV1Mount finds where the v1 hierarchy holding controller is
// mounted, reading the mountinfo(5) file at path.
func CgroupV1Mount(path, controller string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		fields, super := strings.Fields(pre), strings.Fields(post)
		if len(fields) < 5 || len(super) < 3 || super[0] != "cgroup" {
			continue
		}
		if slices.Contains(strings.Split(super[2], ","), controller) {
			return fields[4], nil
		}
	}
	return "", fmt.Errorf("no cgroup v1 hierarchy has the %s controller", controller)
}

// OwnCgroup is a process's cgroup in controller's v1 hierarchy, read from
// path (its /proc/PID/cgroup); controller "" is the v2 hierarchy.
func OwnCgroup(path, controller string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if controller == "" && parts[0] == "0" && parts[1] == "" {
			return parts[2], nil
		}
		if controller != "" && slices.Contains(strings.Split(parts[1], ","), controller) {
			return parts[2], nil
		}
	}
	if controller == "" {
		return "", errors.New("this process is in no cgroup v2 cgroup")
	}
	return "", fmt.Errorf("this process is in no %s cgroup", controller)
}

func writeCgroup(dir, file, value string) error {
	return os.WriteFile(filepath.Join(dir, file), []byte(value), 0)
}

// open returns a descriptor of the cgroup's directory on the unified
// hierarchy, for clone3's CLONE_INTO_CGROUP (SysProcAttr.UseCgroupFD):
// the init is then born in the cgroup and never migrated.
func (c *cgroup) open() (*os.File, error) {
	f, err := os.OpenFile(c.pids, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &CgroupError{Limit: "cgroup", Err: err}
	}
	return f, nil
}

// cgroupJoin is a v1 cgroup directory for startIn; an optional one is
// skipped when it cannot be joined.
type cgroupJoin struct {
	dir      string
	optional bool
}

// startIn starts cmd with its process born inside the v1 cgroups of
// joins: the calling thread moves itself into each ("0" into its tasks
// file), forks, and moves itself back out (into the parent directory,
// where pkgbox is). Writing another process's pid into cgroup.procs takes
// cgroup_threadgroup_rwsem for writing, which waits for an RCU grace
// period (~10 ms measured here) and would add to every entry; a thread
// that moves itself by writing "0" needs no stable thread group, and
// recent kernels skip that lock for it (measured: 10-100 µs). On a kernel
// that does not, this costs what moving the process did.
//
// The calling goroutine must be locked to its thread and must never
// unlock it: should leaving fail, the thread is still inside, and it
// must die with the goroutine rather than serve other goroutines. A
// failure to leave after the start kills and reaps the child.
func startIn(cmd *exec.Cmd, joins []cgroupJoin) error {
	var joined []string
	leave := func() error {
		var errs []error
		for _, dir := range joined {
			if err := writeCgroup(filepath.Dir(dir), "tasks", "0"); err != nil {
				errs = append(errs, fmt.Errorf("leave cgroup %s: %w", dir, err))
			}
		}
		joined = nil
		return errors.Join(errs...)
	}
	for _, j := range joins {
		if err := writeCgroup(j.dir, "tasks", "0"); err != nil {
			if j.optional {
				continue
			}
			if lerr := leave(); lerr != nil {
				err = errors.Join(err, lerr)
			}
			return fmt.Errorf("move the sandbox into cgroup %s: %w", j.dir, err)
		}
		joined = append(joined, j.dir)
	}
	if err := cmd.Start(); err != nil {
		if lerr := leave(); lerr != nil {
			err = errors.Join(err, lerr)
		}
		return err
	}
	if err := leave(); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return err
	}
	return nil
}

func (c *cgroup) dirs() []string {
	var d []string
	if c.pids != "" {
		d = append(d, c.pids)
	}
	if c.memory != "" && c.memory != c.pids {
		d = append(d, c.memory)
	}
	return d
}

// hit says which limit the sandbox ran into, if any: "memory" when the
// kernel's OOM killer killed something in it, "pids" when a fork failed
// for the process limit.
func (c *cgroup) hit() string {
	if c.memory != "" {
		file, key := "memory.oom_control", "oom_kill"
		if c.v2 {
			file = "memory.events"
		}
		if eventCount(filepath.Join(c.memory, file), key) > 0 {
			return "memory"
		}
	}
	if c.pids != "" && eventCount(filepath.Join(c.pids, "pids.events"), "max") > 0 {
		return "pids"
	}
	return ""
}

// eventCount reads "KEY N" from a cgroup's flat keyed file.
func eventCount(path, key string) int64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == key {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

// remove deletes the cgroup once its last process is gone. The init's
// death kills the namespace's processes, but the kernel finishes them a
// moment later; a cgroup with members cannot be removed.
func (c *cgroup) remove() {
	for _, dir := range c.dirs() {
		rmdirWhenEmpty(dir)
	}
}

// rmdirWhenEmpty removes a cgroup directory, waiting up to two seconds
// for its last process to be gone.
func rmdirWhenEmpty(dir string) {
	for i := 0; i < 100; i++ {
		err := unix.Rmdir(dir)
		if err == nil || errors.Is(err, unix.ENOENT) || !errors.Is(err, unix.EBUSY) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// GCCgroups removes the empty cgroups of sandboxes whose pkgbox was
// killed before it could remove them. It returns what it removed.
func GCCgroups() []string {
	var roots []string
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		roots = append(roots, "/sys/fs/cgroup/pkgbox")
	} else {
		for _, ctl := range []string{"pids", "memory", "devices"} {
			mnt, err1 := v1Mount(ctl)
			own, err2 := ownCgroup(ctl)
			if err1 == nil && err2 == nil {
				roots = append(roots, filepath.Join(mnt, own))
			}
		}
	}
	var removed []string
	for _, r := range roots {
		dirs, _ := filepath.Glob(filepath.Join(r, cgroupPrefix+"*"))
		for _, d := range dirs {
			// rmdir fails on a cgroup that still has members: a live sandbox.
			if unix.Rmdir(d) == nil {
				removed = append(removed, d)
			}
		}
	}
	return removed
}
