package sandbox_test

import (
	"os"
	"strings"
	"testing"

	"pkgbox/sandbox"
)

// A sandbox with limits runs in cgroups of its own from its first
// instruction (it is born there, never moved), the limits hold inside, and
// pkgbox itself stays where it was: none of its threads is left in them,
// and they are gone once Run returns.
func TestLimitsCgroups(t *testing.T) {
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		t.Skip("checks the v1 hierarchies; this machine has the unified one")
	}
	before, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := session(t, "/bin/sh", "-c", `cat /proc/self/cgroup; cat /proc/1/cgroup`)
	spec.Limits = sandbox.Limits{Pids: 64, Memory: 512 << 20}
	out, res := run(t, spec)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %s", res.ExitCode, out)
	}
	for _, ctl := range []string{"pids", "memory", "devices"} {
		if n := strings.Count(out, ":"+ctl+":"); n != 2 {
			t.Fatalf("%s appears %d times, want 2 (payload and init):\n%s", ctl, n, out)
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, ":"+ctl+":") && !strings.Contains(line, "/pkgbox-") {
				t.Errorf("not in a %s cgroup of pkgbox's: %q", ctl, line)
			}
		}
	}
	// Every thread of this process is where the process was.
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, task := range tasks {
		data, err := os.ReadFile("/proc/self/task/" + task.Name() + "/cgroup")
		if err != nil {
			continue // the thread ended meanwhile
		}
		if string(data) != string(before) {
			t.Errorf("thread %s is in\n%s\nwant\n%s", task.Name(), data, before)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		_, path, ok := strings.Cut(line, ":pids:")
		if !ok {
			continue
		}
		dir := "/sys/fs/cgroup/pids" + path
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%s is still there after Run", dir)
		}
	}
}
