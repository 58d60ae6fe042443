// Package sandbox runs a command in a Debian root (or any root directory) in
// fresh PID, mount, UTS, IPC and network namespaces (the last linked to the
// world by pasta when asked), and guarantees that nothing it started or
// mounted outlives it.
//
// The parent re-executes its own binary as the sandbox's init (see Init); the
// init is PID 1 of the new PID namespace, builds the mount tree in its own
// mount namespace, pivots into the root, starts the payload, forwards signals,
// reaps, and exits with the payload's status. Its exit makes the kernel kill
// everything left in the namespace, and the mount namespace dies with it.
//
// This package knows nothing about Debian or about pkgbox's store.
package sandbox

import (
	"io"
	"os"
)

// Spec describes one sandbox. Everything but Hold crosses to the init as JSON.
type Spec struct {
	// Root is the host path of the root file system.
	Root string `json:"root"`
	// Overlay, when set, makes the session ephemeral: Root is the read-only
	// lower layer and every write lands in Overlay.Upper. When nil, the
	// sandbox works on Root itself (the caller holds the root's exclusive lock).
	Overlay *Overlay `json:"overlay,omitempty"`
	// Mounts are made inside the root after /proc and /dev, in order.
	Mounts []Mount `json:"mounts,omitempty"`
	// Hostname is the sandbox's host name.
	Hostname string `json:"hostname"`
	// Network links the sandbox's own network namespace to the world
	// through pasta (package passt); otherwise the sandbox has only lo.
	// Either way it never shares the host's network namespace.
	Network bool `json:"network"`
	// User runs the payload as this user of the root (name or numeric uid);
	// empty means root.
	User string `json:"user,omitempty"`
	// Env is the payload's whole environment, as KEY=VALUE.
	Env []string `json:"env"`
	// Args is the payload's argv; Args[0] is looked up in the root's PATH
	// (from Env) unless it contains a slash.
	Args []string `json:"args"`
	// Dir is the payload's working directory inside the root; empty means
	// the user's home directory, or / if it has none.
	Dir string `json:"dir,omitempty"`
	// TTY gives the payload a new pseudo-terminal from the sandbox's own
	// devpts, as its controlling terminal, relayed to the caller's terminal
	// (which Run puts in raw mode). Without it the payload inherits the
	// caller's stdin, stdout and stderr as they are.
	TTY bool `json:"tty,omitempty"`
	// Privileged lifts the confinement every sandbox gets by default: the
	// payload then holds all of root's capabilities, no system call filter,
	// no device filter, and so can mount, load modules and read the host's
	// devices. Confined (the default), a root payload keeps what apt, dpkg
	// and maintainer scripts need and nothing that reaches past the sandbox
	// (issue 11); see confine.
	Privileged bool `json:"privileged,omitempty"`
	// Limits cap the sandbox's processes and memory.
	Limits Limits `json:"limits,omitzero"`
	// UIDMap and GIDMap, when set, put the sandbox in a user namespace of
	// its own with these maps (rootless mode, see RootlessMaps), written
	// by newuidmap and newgidmap. Empty, the sandbox shares the caller's
	// user namespace, which must then be root.
	UIDMap []IDMap `json:"uid_map,omitempty"`
	GIDMap []IDMap `json:"gid_map,omitempty"`

	// Hold are files the init keeps open until it exits, such as a session's
	// lock file: the lock is then held exactly as long as the sandbox lives,
	// even when pkgbox itself is killed.
	Hold []*os.File `json:"-"`
}

// userns says whether the sandbox has a user namespace of its own.
func (s *Spec) userns() bool { return len(s.UIDMap) > 0 }

// Overlay names the directories of an overlayfs session.
type Overlay struct {
	// Lower are read-only layers stacked over Root, topmost first (such
	// as a build's installed dependencies); Root is always the bottom.
	// They must not change while a sandbox has them mounted.
	Lower  []string `json:"lower,omitempty"`
	Upper  string   `json:"upper"`
	Work   string   `json:"work"`
	Merged string   `json:"merged"`
}

// IDMap is one line of a user namespace's uid_map or gid_map.
type IDMap struct {
	Inside  uint32 `json:"inside"`
	Outside uint32 `json:"outside"`
	Count   uint32 `json:"count"`
}

// Result is how the payload ended.
type Result struct {
	// ExitCode is the payload's exit status, or 128+signal when a signal
	// killed it, as a shell reports it.
	ExitCode int
	// Signal is the signal that killed the payload, or 0.
	Signal os.Signal
	// Limit names the limit of Spec.Limits the sandbox ran into, if any:
	// "memory" (the kernel's OOM killer struck inside) or "pids" (a fork
	// failed for the process limit).
	Limit string
}

// Limits cap what a sandbox may use, through a cgroup of its own; zero
// means no limit.
type Limits struct {
	// Pids is the most processes and threads at once.
	Pids int `json:"pids,omitempty"`
	// Memory is the most memory in bytes, page cache and tmpfs included.
	Memory int64 `json:"memory,omitempty"`
}

// Stdio is what the payload reads and writes. Nil members mean /dev/null.
// With Spec.TTY, Stdin and Stdout must be the caller's terminal (*os.File).
type Stdio struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}
