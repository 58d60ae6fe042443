package doctor

import (
	"fmt"
	"os"

	"pkgbox/sandbox"
)

// minSubIDs is the number of subordinate ids rootless mode needs: a
// Debian root's ids run from 0 to 65535 (nobody is 65534).
const minSubIDs = 65536

// checkSubIDs: newuidmap and newgidmap map only the ranges /etc/subuid and
// /etc/subgid give the user (lines "NAME_OR_UID:FIRST:COUNT").
func checkSubIDs(env *Env, name, path string) Check {
	c := Check{Name: name}
	flag := "--add-subuids"
	if name == "subgid" {
		flag = "--add-subgids"
	}
	c.Fix = fmt.Sprintf("sudo usermod %s 100000-165535 %s", flag, env.User)
	data, err := os.ReadFile(path)
	if err != nil {
		c.Detail = fmt.Sprintf("read %s: %v", path, err)
		return c
	}
	// The parser the sandbox maps with, so that both agree.
	var total uint64
	for _, r := range sandbox.ParseSubIDs(data, env.User, env.UID) {
		total += uint64(r.Count)
	}
	if total < minSubIDs {
		c.Detail = fmt.Sprintf("%s gives %s %d ids; rootless mode needs at least %d", path, env.User, total, minSubIDs)
		return c
	}
	c.OK, c.Fix = true, ""
	c.Detail = fmt.Sprintf("%s gives %s %d ids", path, env.User, total)
	return c
}
