package sandbox

import (
	"fmt"
	"os"
	"path"
	"strings"
)

// MountFlags are the per-mount attributes a sandbox mount may carry. They are
// pkgbox's own bits, not the kernel's, so that profiles can build mounts
// without importing syscall constants; the init maps them to MOUNT_ATTR_*.
type MountFlags uint32

// The attributes a mount can carry, as mount(8) names them.
const (
	ReadOnly MountFlags = 1 << iota
	NoSuid
	NoDev
	NoExec
	NoAtime
	RelAtime
	StrictAtime
	NoDiratime
	NoSymfollow
)

var flagNames = []struct {
	flag MountFlags
	name string
}{
	{ReadOnly, "ro"}, {NoSuid, "nosuid"}, {NoDev, "nodev"}, {NoExec, "noexec"},
	{NoAtime, "noatime"}, {RelAtime, "relatime"}, {StrictAtime, "strictatime"},
	{NoDiratime, "nodiratime"}, {NoSymfollow, "nosymfollow"},
}

// String lists the flags as mount(8) options, comma-separated.
func (f MountFlags) String() string {
	var names []string
	for _, fn := range flagNames {
		if f&fn.flag != 0 {
			names = append(names, fn.name)
		}
	}
	return strings.Join(names, ",")
}

// Mount types other than a real filesystem type.
const (
	// TypeBind binds a host path (Source) onto Target; Recursive makes it rbind.
	TypeBind = "bind"
)

// Mount is one mount the init makes inside the new root. It is plain data so
// that it can cross the pipe to the init as JSON; all validation of user input
// happens where mounts are built (package profiles), all syscalls in the init.
type Mount struct {
	// Type is TypeBind or a filesystem type: tmpfs, proc, sysfs, devpts, mqueue.
	Type string `json:"type"`
	// Source is the host path for a bind; for other types the name that
	// mountinfo shows (conventionally the type itself).
	Source string `json:"source"`
	// Target is an absolute path inside the root. The init resolves it inside
	// the root (symlinks and ".." cannot leave it) and creates it if missing.
	Target string `json:"target"`
	// Recursive makes a bind an rbind: submounts of Source come along.
	Recursive bool `json:"recursive,omitempty"`
	// Flags are the mount attributes (ro, nosuid, ...).
	Flags MountFlags `json:"flags,omitempty"`
	// Data are filesystem options handed to the filesystem itself, such as
	// "mode=1777" or "size=50%"; "key=value" or a bare "key".
	Data []string `json:"data,omitempty"`
	// Origin says where the mount came from ("FILE:LINE"), for error messages.
	Origin string `json:"origin,omitempty"`

	// File, for a bind, is its source, open (O_PATH will do), instead of
	// the path Source, which then only names it in messages. The init never
	// looks the source up by path, so nothing swapped in after the caller
	// checked the file can take its place (issue 11, finding 6). Run makes
	// a detached mount of it in the caller's mount namespace and hands that
	// to the init: the init cannot bind from a descriptor of another mount
	// namespace (open_tree refuses with EINVAL), but it may attach a
	// detached mount.
	File *os.File `json:"-"`
	// TreeFD is the init's descriptor of File's detached mount; Run sets it.
	TreeFD int `json:"tree_fd,omitempty"`
	// TreeIsFile says that TreeFD is File itself, not a detached mount:
	// in rootless mode pkgbox has no right to detach a mount of the host's
	// namespace, so the init finds the same file in its own copy of that
	// namespace (see reopenTree).
	TreeIsFile bool `json:"tree_is_file,omitempty"`
}

// Validate checks what the init relies on: an absolute, clean target and a
// source for binds. It is a last line of defence; profiles reports errors
// with file and line before a Mount is ever built.
func (m Mount) Validate() error {
	where := ""
	if m.Origin != "" {
		where = m.Origin + ": "
	}
	if m.Type == "" {
		return fmt.Errorf("%smount on %q has no type", where, m.Target)
	}
	if !path.IsAbs(m.Target) {
		return fmt.Errorf("%smount target %q is not an absolute path", where, m.Target)
	}
	if strings.ContainsRune(m.Target, 0) || strings.ContainsRune(m.Source, 0) {
		return fmt.Errorf("%smount %q contains a NUL byte", where, m.Target)
	}
	if m.File != nil && m.Type != TypeBind {
		return fmt.Errorf("%smount on %q: only a bind takes an open file as its source", where, m.Target)
	}
	if m.Type == TypeBind && !path.IsAbs(m.Source) {
		return fmt.Errorf("%sbind source %q is not an absolute path", where, m.Source)
	}
	return nil
}
