package doctor

import (
	"fmt"
	"path/filepath"
)

// File system magics (statfs(2)) the store cannot live on: a session's
// upper directory cannot be on overlayfs, nor on NFS.
var badStoreFS = map[int64]string{
	0x794c7630: "overlayfs",
	0x6969:     "NFS",
}

// Free space: a buildd root takes some 300 MB, its bootstrap image as much
// again, and a build's dependencies and tree easily a few GB.
const (
	minFree  = 1 << 30
	warnFree = 4 << 30
)

// existing is dir, or its nearest parent that exists: the store is made on
// first use, and its file system is its parent's until then.
func existing(env *Env, dir string) string {
	for {
		if _, err := env.Stat(dir); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return dir
		}
		dir = parent
	}
}

// otherStoreFix is the way out of a store pkgbox cannot use.
const otherStoreFix = "pkgbox --store DIR ... (or export PKGBOX_STORE=DIR), DIR on a local file system such as ext4, xfs, btrfs or tmpfs"

// checkStore: the store must belong to the user running pkgbox and be
// writable by nobody else (store.Open refuses it otherwise), and be on a
// file system an overlay's upper directory can be on.
func checkStore(env *Env) Check {
	c := Check{Name: "store"}
	dir := env.StoreDir
	fi, err := env.Stat(dir)
	if err == nil {
		switch uid := owner(fi); {
		case !fi.IsDir():
			c.Detail = dir + " is not a directory"
			c.Fix = otherStoreFix
			return c
		case uid >= 0 && uid != env.EUID && uid == 0:
			c.Detail = dir + " belongs to root"
			c.Fix = "sudo pkgbox ..., or " + otherStoreFix
			return c
		case uid >= 0 && uid != env.EUID:
			c.Detail = fmt.Sprintf("%s belongs to uid %d, not to uid %d who runs pkgbox", dir, uid, env.EUID)
			c.Fix = fmt.Sprintf("sudo chown %d %s", env.EUID, dir)
			return c
		case fi.Mode().Perm()&0o022 != 0:
			c.Detail = dir + " is writable by its group or others"
			c.Fix = "sudo chmod go-w " + dir
			return c
		}
	}
	at := existing(env, dir)
	if err != nil && !env.Writable(at) {
		c.Detail = fmt.Sprintf("%s does not exist and %s is not writable: the store cannot be made", dir, at)
		c.Fix = "sudo pkgbox ..., or " + otherStoreFix
		return c
	}
	_, fstype, ferr := env.Statfs(at)
	if ferr != nil {
		c.Detail = fmt.Sprintf("statfs %s: %v", at, ferr)
		return c
	}
	if name, bad := badStoreFS[fstype]; bad {
		c.Detail = fmt.Sprintf("%s is on %s, where sessions' overlays cannot keep their changes", dir, name)
		c.Fix = otherStoreFix
		return c
	}
	c.OK = true
	c.Detail = dir
	if err != nil {
		c.Detail += " (made on first use)"
	}
	return c
}

// checkSpace: roots, images and builds need room.
func checkSpace(env *Env) Check {
	c := Check{Name: "space"}
	at := existing(env, env.StoreDir)
	free, _, err := env.Statfs(at)
	if err != nil {
		c.Detail = fmt.Sprintf("statfs %s: %v", at, err)
		return c
	}
	c.Detail = fmt.Sprintf("%s free on the file system of %s", gib(free), at)
	switch {
	case free < minFree:
		c.Detail += fmt.Sprintf(", less than %s: a root and a build will not fit", gib(minFree))
	case free < warnFree:
		c.OK, c.Warning = false, true
		c.Detail += fmt.Sprintf(", less than %s: large builds may not fit", gib(warnFree))
	default:
		c.OK = true
		return c
	}
	c.Fix = "pkgbox gc, pkgbox remove ROOT; or " + otherStoreFix
	return c
}

func gib(n uint64) string { return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30)) }
