package doctor

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// sysctlFix is the command that sets a sysctl now and at every boot.
func sysctlFix(name, value string) string {
	return fmt.Sprintf("echo '%s = %s' | sudo tee /etc/sysctl.d/60-pkgbox.conf && sudo sysctl --system", name, value)
}

// readSysctl reads /proc/sys/NAME (dots for slashes); ok is false when the
// kernel has no such setting.
func readSysctl(env *Env, name string) (value string, ok bool, err error) {
	data, err := os.ReadFile(filepath.Join(env.ProcSys, strings.ReplaceAll(name, ".", "/")))
	if os.IsNotExist(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return strings.TrimSpace(string(data)), true, nil
}

// checkUserNS: rootless mode starts in a user namespace of its own, which
// user.max_user_namespaces = 0 forbids.
func checkUserNS(env *Env) Check {
	const name = "user.max_user_namespaces"
	c := Check{Name: "userns"}
	v, ok, err := readSysctl(env, name)
	switch {
	case err != nil:
		c.Detail = fmt.Sprintf("read %s: %v", name, err)
	case !ok:
		c.Detail = "the kernel has no user namespaces (no " + name + ")"
		c.Fix = "sudo apt-get install linux-image-$(dpkg --print-architecture)"
	case v == "0":
		c.Detail = name + " is 0: user namespaces are disabled"
		c.Fix = sysctlFix(name, "15000")
	default:
		c.OK, c.Detail = true, fmt.Sprintf("user namespaces allowed (%s = %s)", name, v)
	}
	return c
}

// checkUsernsClone: Debian kernels before 6.1 had a switch of their own
// that kept unprivileged users out of user namespaces.
func checkUsernsClone(env *Env) Check {
	const name = "kernel.unprivileged_userns_clone"
	c := Check{Name: "userns-clone"}
	v, ok, err := readSysctl(env, name)
	switch {
	case err != nil:
		c.Detail = fmt.Sprintf("read %s: %v", name, err)
	case !ok:
		c.OK, c.Detail = true, "the kernel has no "+name+" switch"
	case v != "1":
		c.Detail = fmt.Sprintf("%s = %s: unprivileged users may not make user namespaces", name, v)
		c.Fix = sysctlFix(name, "1")
	default:
		c.OK, c.Detail = true, name+" = 1"
	}
	return c
}

// checkAppArmorUserNS: Ubuntu 23.10 and later (and Debian kernels with
// the same patch) let AppArmor refuse user namespaces to programs without
// a profile that allows them.
func checkAppArmorUserNS(env *Env) Check {
	const name = "kernel.apparmor_restrict_unprivileged_userns"
	c := Check{Name: "apparmor-userns"}
	v, ok, err := readSysctl(env, name)
	switch {
	case err != nil:
		c.Detail = fmt.Sprintf("read %s: %v", name, err)
	case !ok:
		c.OK, c.Detail = true, "the kernel has no "+name+" restriction"
	case v != "0":
		c.Detail = fmt.Sprintf("%s = %s: AppArmor refuses user namespaces to unconfined programs", name, v)
		c.Fix = sysctlFix(name, "0")
	default:
		c.OK, c.Detail = true, name+" = 0"
	}
	return c
}

// checkKernel: an unprivileged user may mount overlayfs in its user
// namespace from Linux 5.11 on.
func checkKernel(env *Env) Check {
	c := Check{Name: "kernel"}
	v, _, err := readSysctl(env, "kernel.osrelease")
	if err != nil || v == "" {
		c.Detail = "cannot read the kernel's version from " + filepath.Join(env.ProcSys, "kernel/osrelease")
		return c
	}
	major, minor, ok := kernelVersion(v)
	switch {
	case !ok:
		c.Detail = fmt.Sprintf("cannot read the kernel's version from %q", v)
	case major < 5 || major == 5 && minor < 11:
		c.Detail = fmt.Sprintf("Linux %s: overlayfs in a user namespace needs Linux 5.11 or later", v)
		c.Fix = "sudo apt-get install linux-image-$(dpkg --print-architecture) && sudo reboot"
	default:
		c.OK, c.Detail = true, fmt.Sprintf("Linux %s (overlayfs in a user namespace needs 5.11)", v)
	}
	return c
}

// kernelVersion reads "6.1.0-18-amd64" as 6, 1.
func kernelVersion(release string) (major, minor int, ok bool) {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	major, err1 := strconv.Atoi(parts[0])
	digits := strings.IndexFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' })
	if digits >= 0 {
		parts[1] = parts[1][:digits]
	}
	minor, err2 := strconv.Atoi(parts[1])
	return major, minor, err1 == nil && err2 == nil
}

// checkOverlay: sessions are overlay mounts on a root.
func checkOverlay(env *Env) Check {
	c := Check{Name: "overlayfs"}
	f, err := os.Open(env.ProcFilesystems)
	if err != nil {
		c.Detail = fmt.Sprintf("read the kernel's file systems: %v", err)
		return c
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 0 && fields[len(fields)-1] == "overlay" {
			c.OK, c.Detail = true, "the kernel has overlayfs"
			return c
		}
	}
	c.Detail = "the kernel has no overlayfs loaded: sessions cannot be mounted"
	c.Fix = "sudo modprobe overlay && echo overlay | sudo tee /etc/modules-load.d/pkgbox.conf"
	return c
}
