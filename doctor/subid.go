package doctor

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
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
	f, err := os.Open(path)
	if err != nil {
		c.Detail = fmt.Sprintf("read %s: %v", path, err)
		return c
	}
	defer f.Close()
	var total uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(parts) != 3 || (parts[0] != env.User && parts[0] != strconv.Itoa(env.UID)) {
			continue
		}
		if n, err := strconv.ParseUint(parts[2], 10, 32); err == nil {
			total += n
		}
	}
	if err := sc.Err(); err != nil {
		c.Detail = fmt.Sprintf("read %s: %v", path, err)
		return c
	}
	if total < minSubIDs {
		c.Detail = fmt.Sprintf("%s gives %s %d ids; rootless mode needs at least %d", path, env.User, total, minSubIDs)
		return c
	}
	c.OK, c.Fix = true, ""
	c.Detail = fmt.Sprintf("%s gives %s %d ids", path, env.User, total)
	return c
}
