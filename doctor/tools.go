package doctor

import (
	"fmt"
	"io/fs"
	"path/filepath"

	"pkgbox/bootstrap"
)

// lookTool is a check that a program is installed, and says which package
// ships it. alsoAt are paths to try where PATH has no program: an ordinary
// user's PATH on Debian lacks /usr/sbin, where debootstrap is.
func lookTool(env *Env, name, program, pkg, why string, alsoAt ...string) Check {
	c := Check{Name: name}
	for _, cand := range append([]string{program}, alsoAt...) {
		if p, err := env.LookPath(cand); err == nil {
			c.OK, c.Detail = true, p
			return c
		}
	}
	c.Detail = fmt.Sprintf("%s is not installed: %s", program, why)
	c.Fix = "sudo apt-get install " + pkg
	return c
}

// checkDebootstrap: create makes roots with it.
func checkDebootstrap(env *Env) Check {
	return lookTool(env, "debootstrap", "debootstrap", "debootstrap", "pkgbox create needs it to make roots", bootstrap.DebootstrapSbin...)
}

// checkPasta: a sandbox with the network gets its own network namespace,
// linked to the world by pasta; builds need it for their dependencies.
func checkPasta(env *Env) Check {
	return lookTool(env, "pasta", "pasta", "passt", "sandboxes with the network (every build's dependency install) need it")
}

// checkKeyring: debootstrap checks current Debian suites' Release files
// against it.
func checkKeyring(env *Env) Check {
	c := Check{Name: "keyring"}
	path := filepath.Join(env.Keyrings, "debian-archive-keyring.gpg")
	if _, err := env.Stat(path); err != nil {
		c.Detail = fmt.Sprintf("%s is missing: debootstrap cannot check Debian's Release files", path)
		c.Fix = "sudo apt-get install debian-archive-keyring"
		return c
	}
	c.OK, c.Detail = true, path
	return c
}

// checkRemovedKeys: archived suites (buster and older) were signed with
// keys since removed from Debian's keyring. Only they need it: a warning.
func checkRemovedKeys(env *Env) Check {
	c := Check{Name: "removed-keys"}
	path := filepath.Join(env.Keyrings, filepath.Base(bootstrap.RemovedKeysKeyring))
	if _, err := env.Stat(path); err != nil {
		c.Warning = true
		c.Detail = fmt.Sprintf("%s is missing: roots of archived suites (buster and older) cannot be checked", path)
		c.Fix = "sudo apt-get install debian-archive-keyring"
		return c
	}
	c.OK, c.Detail = true, path+" (for archived suites)"
	return c
}

// checkIDMap: newuidmap and newgidmap (package uidmap) write the id maps
// of a user namespace beyond the user's own id, which needs them setuid
// root (or given CAP_SETUID/CAP_SETGID as file capabilities).
func checkIDMap(env *Env, program string) Check {
	c := lookTool(env, program, program, "uidmap", "rootless mode maps the root's ids with it")
	if !c.OK {
		return c
	}
	path := c.Detail
	fi, err := env.Stat(path)
	if err != nil {
		c.OK, c.Detail = false, fmt.Sprintf("stat %s: %v", path, err)
		return c
	}
	if fi.Mode()&fs.ModeSetuid != 0 && ownedByRoot(fi) {
		c.Detail = path + " is setuid root"
		return c
	}
	if env.FileCaps(path) {
		c.Detail = path + " has file capabilities"
		return c
	}
	c.OK = false
	c.Detail = path + " is neither setuid root nor given capabilities: it cannot map other ids"
	c.Fix = fmt.Sprintf("sudo chown root:root %s && sudo chmod u+s %s", path, path)
	return c
}
