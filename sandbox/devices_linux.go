package sandbox

import (
	"errors"
	"os"
)

// deviceAllow are the only devices a confined sandbox may open or make
// (cgroup v1 devices.allow lines): the character devices of mountDev's
// /dev, the console, and the ptys of its devpts instance. Everything else,
// a host disk above all, stays closed even to root inside and even where a
// node for it exists (issue 11, finding 2: mknod of a host block device
// and reading it worked). The same list as runc's default.
var deviceAllow = []string{
	"c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm", // null zero full random urandom
	"c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", // tty console ptmx
	"c 136:* rwm", // the ptys of /dev/pts
}

// deviceCgroup is a sandbox's cgroup in the v1 devices hierarchy.
type deviceCgroup struct{ dir string }

// newDeviceCgroup makes a devices cgroup named name that allows only
// deviceAllow. On the unified hierarchy (v2) device control needs a BPF
// program attached to the cgroup; pkgbox does not do that yet, and there a
// confined sandbox relies on CAP_MKNOD being dropped and on nodev mounts.
func newDeviceCgroup(name string) (_ *deviceCgroup, retErr error) {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return nil, errors.New("no device controller on cgroup v2")
	}
	dir, err := v1Dir("devices", name)
	if err != nil {
		return nil, err
	}
	d := &deviceCgroup{dir: dir}
	defer func() {
		if retErr != nil {
			d.remove()
		}
	}()
	// Deny first: a new cgroup starts with its parent's list, usually
	// everything.
	if err := writeCgroup(dir, "devices.deny", "a"); err != nil {
		return nil, err
	}
	for _, a := range deviceAllow {
		if err := writeCgroup(dir, "devices.allow", a); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// join is the cgroup for startIn. It is optional, as the cgroup itself
// is: a confined payload outside it still has no CAP_MKNOD, and every
// mount but /dev is nodev.
func (d *deviceCgroup) join() cgroupJoin {
	return cgroupJoin{dir: d.dir, optional: true}
}

// remove deletes the cgroup once the sandbox is gone.
func (d *deviceCgroup) remove() {
	rmdirWhenEmpty(d.dir)
}
