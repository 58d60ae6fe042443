package doctor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"pkgbox/sandbox"
)

// noLimitsFix is what a build does without cgroups: it runs without
// --memory and --pids (which it also falls back to by itself).
const noLimitsFix = "pkgbox build --memory 0 --pids 0 ... (builds then run without limits)"

// limitControllers are the controllers build limits use (--pids, --memory).
var limitControllers = []string{"pids", "memory"}

// checkCgroups looks where sandbox/cgroup_linux.go makes a build's cgroup:
// on cgroup v2, a pkgbox/ child of the root whose subtree_control it
// writes; on v1, a child of pkgbox's own cgroup in the pids and memory
// hierarchies. Only the build limits need it: a warning.
func checkCgroups(env *Env) Check {
	c := Check{Name: "cgroups", Warning: true, Fix: noLimitsFix}
	if ctl, err := os.ReadFile(filepath.Join(env.CgroupRoot, "cgroup.controllers")); err == nil {
		have := strings.Fields(string(ctl))
		for _, want := range limitControllers {
			if !contains(have, want) {
				c.Detail = fmt.Sprintf("cgroup v2 offers no %s controller: builds run without --pids and --memory limits", want)
				return c
			}
		}
		if !env.Writable(filepath.Join(env.CgroupRoot, "cgroup.subtree_control")) {
			c.Detail = fmt.Sprintf("cgroup v2: %s is not writable (a container?): builds run without limits", env.CgroupRoot)
			return c
		}
		c.OK, c.Warning, c.Fix = true, false, ""
		c.Detail = "cgroup v2, pids and memory controllers writable"
		return c
	}
	for _, ctl := range limitControllers {
		mnt, err := sandbox.CgroupV1Mount(env.Mountinfo, ctl)
		if err != nil {
			c.Detail = fmt.Sprintf("cgroup v1: %v: builds run without limits", err)
			return c
		}
		own, err := sandbox.OwnCgroup(env.ProcSelfCgroup, ctl)
		if err != nil {
			c.Detail = fmt.Sprintf("cgroup v1: %v: builds run without limits", err)
			return c
		}
		if dir := filepath.Join(mnt, own); !env.Writable(dir) {
			c.Detail = fmt.Sprintf("cgroup v1: %s is not writable: builds run without limits", dir)
			return c
		}
	}
	c.OK, c.Warning, c.Fix = true, false, ""
	c.Detail = "cgroup v1, pids and memory hierarchies writable"
	// On v1 a sandbox also gets a devices cgroup where it can (see
	// sandbox/devices_linux.go); without one, the dropped CAP_MKNOD and
	// nodev mounts still keep host devices closed.
	mnt, err1 := sandbox.CgroupV1Mount(env.Mountinfo, "devices")
	own, err2 := sandbox.OwnCgroup(env.ProcSelfCgroup, "devices")
	if err1 != nil || err2 != nil || !env.Writable(filepath.Join(mnt, own)) {
		c.Detail += "; no writable devices hierarchy (host devices stay closed by the dropped CAP_MKNOD and nodev mounts)"
	} else {
		c.Detail = "cgroup v1, pids, memory and devices hierarchies writable"
	}
	return c
}

// checkCgroupDelegation: an unprivileged user can only limit a build in
// the cgroup v2 subtree systemd delegates to its user session.
func checkCgroupDelegation(env *Env) Check {
	c := Check{Name: "cgroup-delegation", Warning: true}
	if _, err := os.Stat(filepath.Join(env.CgroupRoot, "cgroup.controllers")); err != nil {
		c.Detail = "cgroup v1: only cgroup v2 can delegate limits to a user: builds will run without limits"
		c.Fix = "add systemd.unified_cgroup_hierarchy=1 to GRUB_CMDLINE_LINUX in /etc/default/grub, then sudo update-grub && sudo reboot"
		return c
	}
	session := filepath.Join(env.RunUser, fmt.Sprint(env.UID), "systemd")
	if _, err := os.Stat(session); err != nil {
		c.Detail = fmt.Sprintf("%s has no systemd user session (no %s): no cgroup is delegated to it", env.User, session)
		c.Fix = "sudo loginctl enable-linger " + env.User
		return c
	}
	own, err := sandbox.OwnCgroup(env.ProcSelfCgroup, "")
	if err != nil {
		c.Detail = fmt.Sprintf("cgroup v2: %v", err)
		return c
	}
	dir := filepath.Join(env.CgroupRoot, own)
	ctl, _ := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	have := strings.Fields(string(ctl))
	for _, want := range limitControllers {
		if !contains(have, want) || !env.Writable(dir) {
			c.Detail = fmt.Sprintf("cgroup v2: %s does not delegate the %s controller to %s", dir, want, env.User)
			c.Fix = `sudo mkdir -p /etc/systemd/system/user@.service.d && printf '[Service]\nDelegate=pids memory\n' | sudo tee /etc/systemd/system/user@.service.d/delegate.conf && sudo systemctl daemon-reload`
			return c
		}
	}
	c.OK, c.Warning = true, false
	c.Detail = fmt.Sprintf("cgroup v2, pids and memory delegated to %s", env.User)
	return c
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
