package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
)

// The device cgroup on its own, without the dropped CAP_MKNOD and nodev
// that also stand in the way inside a sandbox: a root process in it can
// open /dev/null but not a host device that exists and that root could
// open outside (issue 11, finding 2).
func TestDeviceCgroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Skip("needs /dev/loop-control as a host device to refuse")
	}
	d, err := newDeviceCgroup(fmt.Sprintf("test-%d", os.Getpid()))
	if err != nil {
		t.Skipf("no device cgroup here: %v", err)
	}
	defer d.remove()
	c := exec.Command("/bin/sh", "-c", `read go
(exec 3</dev/null) && echo null-opened
(exec 4</dev/loop-control) 2>/dev/null && echo host-device-opened || echo host-device-refused`)
	stdin, _ := c.StdinPipe()
	var out strings.Builder
	c.Stdout, c.Stderr = &out, &out
	// Born inside, as Run starts the init; the goroutine ends locked, so
	// its thread goes with it.
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- startIn(c, []cgroupJoin{{dir: d.dir}})
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	stdin.Write([]byte("go\n"))
	stdin.Close()
	if err := c.Wait(); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if !strings.Contains(out.String(), "null-opened\n") || !strings.Contains(out.String(), "host-device-refused\n") {
		t.Errorf("in the device cgroup:\n%s\nwant /dev/null opened and /dev/loop-control refused", out.String())
	}
}
