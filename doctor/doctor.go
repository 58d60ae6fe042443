// Package doctor checks what a first use of pkgbox needs from the machine,
// for the mode pkgbox would run in: as root, or as an unprivileged user
// (rootless mode, issue 13).
// Each check is a small function of an Env, which tests replace with fake
// files and stubs; nothing here prints.
package doctor

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"strconv"
)

// Mode is the mode a check serves.
type Mode string

// The modes. Both is a check that counts whatever the mode.
const (
	Both     Mode = "both"
	Root     Mode = "root"
	Rootless Mode = "rootless"
)

// Check is the outcome of one check.
type Check struct {
	// Name is short and stable: scripts and users grep for it.
	Name string `json:"name"`
	// OK says the machine has what the check looks for.
	OK bool `json:"ok"`
	// Warning marks a check that is not OK without stopping pkgbox: only
	// some uses need it (archived suites, resource limits).
	Warning bool `json:"warning,omitempty"`
	// Detail says what was found, in one line.
	Detail string `json:"detail"`
	// Fix is the command that mends a check that is not OK.
	Fix string `json:"fix,omitempty"`
	// Mode is the mode the check serves.
	Mode Mode `json:"mode"`
}

// Failed says whether any check failed; warnings do not fail.
func Failed(checks []Check) bool {
	for _, c := range checks {
		if !c.OK && !c.Warning {
			return true
		}
	}
	return false
}

// Env is what the checks read from the machine. Default describes this
// machine; tests point the paths at a temporary tree and stub the rest.
type Env struct {
	// EUID is the effective user id: 0 is root mode, anything else rootless.
	EUID int
	// User and UID are the user rootless mode would run as, for
	// /etc/subuid and the systemd user session.
	User string
	UID  int

	// ProcSys is /proc/sys.
	ProcSys string
	// ProcFilesystems is /proc/filesystems.
	ProcFilesystems string
	// ProcSelfCgroup and Mountinfo are /proc/self/cgroup and
	// /proc/self/mountinfo.
	ProcSelfCgroup string
	Mountinfo      string
	// CgroupRoot is where cgroup v2 is mounted, /sys/fs/cgroup.
	CgroupRoot string
	// SubUID and SubGID are /etc/subuid and /etc/subgid.
	SubUID string
	SubGID string
	// Keyrings is /usr/share/keyrings.
	Keyrings string
	// RunUser is /run/user, where a systemd user session keeps its files.
	RunUser string
	// OSRelease is /etc/os-release, which names the host's suite.
	OSRelease string
	// AptDir and ListsDir are the host's apt sources and lists, where
	// the mirror comes from (see bootstrap.HostMirror).
	AptDir   string
	ListsDir string

	// StoreDir is the store pkgbox would use.
	StoreDir string
	// DevTun is /dev/net/tun, which pasta opens in rootless mode.
	DevTun string

	// LookPath finds a program (exec.LookPath).
	LookPath func(string) (string, error)
	// Stat stats a file, following symlinks (os.Stat).
	Stat func(string) (fs.FileInfo, error)
	// FileCaps says whether a file has file capabilities (the
	// security.capability attribute): some distributions give
	// newuidmap those instead of the setuid bit.
	FileCaps func(string) bool
	// Writable says whether this process may write to path (access(2)).
	Writable func(string) bool
	// Statfs tells a file system's free bytes and its type's magic.
	Statfs func(string) (free uint64, fstype int64, err error)
	// HTTP fetches the mirror's Release file.
	HTTP *http.Client
}

// Default describes this machine, with the store at storeDir.
func Default(storeDir string) *Env {
	e := &Env{
		EUID:            os.Geteuid(),
		UID:             os.Getuid(),
		ProcSys:         "/proc/sys",
		ProcFilesystems: "/proc/filesystems",
		ProcSelfCgroup:  "/proc/self/cgroup",
		Mountinfo:       "/proc/self/mountinfo",
		CgroupRoot:      "/sys/fs/cgroup",
		SubUID:          "/etc/subuid",
		SubGID:          "/etc/subgid",
		Keyrings:        "/usr/share/keyrings",
		RunUser:         "/run/user",
		OSRelease:       "/etc/os-release",
		AptDir:          "/etc/apt",
		ListsDir:        "/var/lib/apt/lists",
		StoreDir:        storeDir,
		DevTun:          "/dev/net/tun",
		LookPath:        exec.LookPath,
		Stat:            os.Stat,
		FileCaps:        fileCaps,
		Writable:        writable,
		Statfs:          statfs,
		HTTP:            http.DefaultClient,
	}
	e.User = strconv.Itoa(e.UID)
	if u, err := user.LookupId(e.User); err == nil {
		e.User = u.Username
	}
	return e
}

// Run runs the checks of env's mode, in the order a user would mend them.
func Run(ctx context.Context, env *Env) []Check {
	var checks []Check
	add := func(mode Mode, c Check) {
		c.Mode = mode
		checks = append(checks, c)
	}
	add(Both, checkMode(env))
	if env.EUID != 0 {
		add(Rootless, checkUserNS(env))
		add(Rootless, checkUsernsClone(env))
		add(Rootless, checkAppArmorUserNS(env))
		add(Rootless, checkKernel(env))
		add(Rootless, checkSubIDs(env, "subuid", env.SubUID))
		add(Rootless, checkSubIDs(env, "subgid", env.SubGID))
		add(Rootless, checkIDMap(env, "newuidmap"))
		add(Rootless, checkIDMap(env, "newgidmap"))
	}
	add(Both, checkOverlay(env))
	if env.EUID == 0 {
		add(Root, checkCgroups(env))
	} else {
		add(Rootless, checkCgroupDelegation(env))
	}
	add(Both, checkDebootstrap(env))
	add(Both, checkKeyring(env))
	add(Both, checkRemovedKeys(env))
	add(Both, checkPasta(env))
	if env.EUID != 0 {
		add(Rootless, checkTun(env))
	}
	add(Both, checkStore(env))
	add(Both, checkSpace(env))
	add(Both, checkMirror(ctx, env))
	return checks
}

// checkMode says which mode pkgbox runs in.
func checkMode(env *Env) Check {
	if env.EUID == 0 {
		return Check{Name: "mode", OK: true, Detail: "root mode (running as root)"}
	}
	return Check{Name: "mode", OK: true,
		Detail: fmt.Sprintf("rootless mode (running as %s): a user namespace with this user's subordinate ids, the store in the user's data directory", env.User)}
}

// checkTun: in rootless mode pasta opens /dev/net/tun inside the
// sandbox's user namespace, where the device's owner is unmapped: only
// its mode for others counts. Debian's udev rules make it 0666 at boot;
// machines without udev leave the kernel's 0600. A rootless sandbox's
// network is then pkgbox's HTTP proxy, narrower than pasta's: a warning.
func checkTun(env *Env) Check {
	c := Check{Name: "tun", Warning: true}
	if env.Writable(env.DevTun) {
		c.OK, c.Warning = true, false
		c.Detail = env.DevTun + " is open to this user (the network of rootless sandboxes)"
		return c
	}
	c.Detail = env.DevTun + " is closed to this user: pasta cannot run, so a rootless sandbox's network is pkgbox's HTTP proxy (http and https only)"
	c.Fix = "sudo chmod 0666 " + env.DevTun
	return c
}
