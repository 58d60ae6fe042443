package sandbox

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// removeArg is argv[1] of RemoveTree's helper.
const removeArg = "__pkgbox-rm"

// RemoveTree removes the directory tree dir. With maps (rootless mode) it
// removes it from inside a user namespace with those maps, as its root:
// files that a sandbox made belong to the caller's subordinate ids, which
// the caller may not unlink on the host, but root of that namespace may.
// It refuses a tree with anything mounted below it, so that it never
// crosses into another file system. Without maps it is os.RemoveAll.
func RemoveTree(dir string, uidMap, gidMap []IDMap) error {
	if len(uidMap) == 0 {
		return os.RemoveAll(dir)
	}
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("remove %q: not an absolute path", dir)
	}
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if m, err := mountBelow(dir); err != nil || m != "" {
		if err == nil {
			err = fmt.Errorf("%q is mounted there", m)
		}
		return fmt.Errorf("remove %q: %w", dir, err)
	}
	goR, goW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("remove %q: %w", dir, err)
	}
	defer goW.Close()
	statusR, statusW, err := os.Pipe()
	if err != nil {
		goR.Close()
		return fmt.Errorf("remove %q: %w", dir, err)
	}
	defer statusR.Close()
	cmd := exec.Command("/proc/self/exe", removeArg, initStageUserns, dir)
	cmd.Env = []string{}
	cmd.ExtraFiles = []*os.File{goR, statusW} // fdConfig, fdStatus
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUSER, Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	goR.Close()
	statusW.Close()
	if err != nil {
		return fmt.Errorf("remove %q: %w", dir, err)
	}
	err = writeIDMaps(cmd.Process.Pid, uidMap, gidMap)
	if err == nil {
		_, err = goW.Write([]byte{'\n'})
	}
	goW.Close()
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return fmt.Errorf("remove %q: %w", dir, err)
	}
	var st initStatus
	decErr := json.NewDecoder(statusR).Decode(&st)
	waitErr := cmd.Wait()
	switch {
	case decErr == nil && st.Error != "":
		return fmt.Errorf("remove %q: %w", dir, setupError(st))
	case waitErr != nil:
		return fmt.Errorf("remove %q: %w", dir, waitErr)
	}
	return nil
}

// removeMain is RemoveTree's helper, root of its user namespace (after
// usernsStage): it removes os.Args[2] and reports an error on fdStatus.
// os.RemoveAll opens every directory relative to its parent without
// following links, so a link in the tree never leads it outside.
func removeMain() {
	if len(os.Args) > 2 && os.Args[2] == initStageUserns {
		usernsStage(fdConfig, append([]string{os.Args[0], removeArg}, os.Args[3:]...), failStatus) // never returns
	}
	status := os.NewFile(fdStatus, "status")
	if len(os.Args) != 3 {
		_ = json.NewEncoder(status).Encode(initStatus{Error: "usage: " + removeArg + " DIR"})
		os.Exit(2)
	}
	if err := os.RemoveAll(os.Args[2]); err != nil {
		_ = json.NewEncoder(status).Encode(statusOf(err))
		os.Exit(1)
	}
	os.Exit(0)
}

// mountBelow returns a mount point of this mount namespace at or below
// dir, or "".
func mountBelow(dir string) (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		// Octal escapes (\040 for a space) stay; dir holding one is
		// not worth a false "no".
		mp := fields[4]
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			return mp, nil
		}
	}
	return "", sc.Err()
}
