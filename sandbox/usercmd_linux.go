package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// execArg is argv[1] of UserCommand's helper.
const execArg = "__pkgbox-exec"

// UserCommand makes cmd, not yet started, run as root of a user namespace
// of its own with maps uidMap and gidMap (rootless mode), besides the
// namespaces cmd.SysProcAttr already asks for, which the user namespace
// then owns. cmd.Path must be absolute. With devDir set, the program finds
// in devDir/dev the host's null, zero, full, random, urandom, tty and
// console bound onto empty files, ptmx a link to pts/ptmx and a devpts of
// its own on pts: a user namespace may not mknod, and debootstrap's own
// mknod then finds them there (mmdebstrap's unshare mode binds the same
// nodes). The binds live in cmd's mount namespace, which cmd must ask for
// (CLONE_NEWNS); the empty files stay behind (see RemoveDevFiles).
//
// Call start after cmd.Start: it writes the maps and lets the program
// run; then done once cmd has ended. A program started this way dies with
// the thread that started it (Pdeathsig, set again after the exec that
// gave it its capabilities), as without a user namespace.
func UserCommand(cmd *exec.Cmd, uidMap, gidMap []IDMap, devDir string) (start func() error, done func(), err error) {
	if !filepath.IsAbs(cmd.Path) {
		return nil, nil, fmt.Errorf("run %q in a user namespace: not an absolute path", cmd.Path)
	}
	goR, goW, err := os.Pipe()
	if err != nil {
		return nil, nil, fmt.Errorf("run %q in a user namespace: %w", cmd.Path, err)
	}
	goFD := 3 + len(cmd.ExtraFiles)
	cmd.ExtraFiles = append(cmd.ExtraFiles, goR)
	args := []string{"/proc/self/exe", execArg, initStageUserns, strconv.Itoa(goFD), devDir, cmd.Path}
	cmd.Args = append(args, cmd.Args[1:]...)
	cmd.Path = "/proc/self/exe"
	cmd.Err = nil
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Cloneflags |= unix.CLONE_NEWUSER
	start = func() error {
		goR.Close()
		err := writeIDMaps(cmd.Process.Pid, uidMap, gidMap)
		if err == nil {
			_, err = goW.Write([]byte{'\n'})
		}
		return err
	}
	// The helper checks, once Pdeathsig is set again, that pkgbox still
	// holds goW: closed before, pkgbox died in between.
	done = func() { goR.Close(); goW.Close() }
	return start, done, nil
}

// execMain is UserCommand's helper: argv is [exe, execArg, (stage,) GOFD,
// DEVDIR, PROGRAM, ARGS...]. Its errors go to stderr, the program's own.
func execMain() {
	fail := func(err error) {
		fmt.Fprintf(os.Stderr, "pkgbox: %v\n", err)
		os.Exit(127)
	}
	if len(os.Args) > 2 && os.Args[2] == initStageUserns {
		if len(os.Args) < 6 {
			fail(errors.New("usage: " + execArg + " userns GOFD DEVDIR PROGRAM ARGS..."))
		}
		goFD, err := strconv.Atoi(os.Args[3])
		if err != nil {
			fail(err)
		}
		usernsStage(goFD, append([]string{os.Args[0], execArg}, os.Args[3:]...), fail) // never returns
	}
	if len(os.Args) < 5 {
		fail(errors.New("usage: " + execArg + " GOFD DEVDIR PROGRAM ARGS..."))
	}
	goFD, err := strconv.Atoi(os.Args[2])
	if err != nil {
		fail(err)
	}
	if err := enterUserns(); err != nil {
		fail(err)
	}
	// EOF without the newline's writer: pkgbox died before Pdeathsig was
	// set again.
	fds := []unix.PollFd{{Fd: int32(goFD), Events: unix.POLLIN}}
	if n, _ := unix.Poll(fds, 0); n > 0 {
		var b [1]byte
		if n, _ := unix.Read(goFD, b[:]); n == 0 {
			os.Exit(137)
		}
	}
	unix.Close(goFD)
	if dir := os.Args[3]; dir != "" {
		if err := bindDevsInto(dir); err != nil {
			fail(err)
		}
	}
	prog := os.Args[4]
	err = unix.Exec(prog, os.Args[4:], os.Environ())
	fail(fmt.Errorf("run %s: %w", prog, err))
}

// hostDevs are the host's nodes UserCommand binds, as mmdebstrap does.
var hostDevs = []string{"null", "zero", "full", "random", "urandom", "tty", "console"}

// bindDevsInto gives dir/dev the host's hostDevs, bound onto empty files,
// ptmx as a link to a devpts of its own. dir is a directory pkgbox has
// just made and nothing has run in yet; every step still refuses to
// follow a link.
func bindDevsInto(dir string) error {
	root, err := os.OpenFile(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bind devices: %w", err)
	}
	defer root.Close()
	dev, err := realDir(root, "/dev")
	if err != nil {
		return fmt.Errorf("bind devices: %w", err)
	}
	defer dev.Close()
	for _, name := range hostDevs {
		src := "/dev/" + name
		var st unix.Stat_t
		if err := unix.Fstatat(unix.AT_FDCWD, src, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR {
			continue // as mmdebstrap: what the host lacks, the root lacks
		}
		fd, err := unix.Openat(int(dev.Fd()), name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o666)
		if err != nil {
			return fmt.Errorf("bind %s: %w", src, err)
		}
		unix.Close(fd)
		tree, err := unix.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_SYMLINK_NOFOLLOW)
		if err != nil {
			return fmt.Errorf("bind %s: %w", src, err)
		}
		err = unix.MoveMount(tree, "", int(dev.Fd()), name, unix.MOVE_MOUNT_F_EMPTY_PATH)
		unix.Close(tree)
		if err != nil {
			return fmt.Errorf("bind %s: %w", src, err)
		}
	}
	if err := unix.Symlinkat("pts/ptmx", int(dev.Fd()), "ptmx"); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("bind devices: %w", err)
	}
	pts := Mount{Type: "devpts", Source: "devpts", Target: "/dev/pts", Flags: NoSuid | NoExec,
		Data: []string{"newinstance", "ptmxmode=0666", "mode=0620"}}
	if err := mountOne(root, pts); err != nil {
		return fmt.Errorf("mount /dev/pts: %w", err)
	}
	return nil
}

// RemoveDevFiles removes what UserCommand's devDir binds leave in
// dir/dev once their mount namespace is gone: the empty regular files
// they were bound onto, so that the root has no /dev/null that is a
// file (a sandbox mounts a /dev of its own over it anyway). The ptmx link
// stays: debootstrap itself falls back to one where it cannot mknod.
func RemoveDevFiles(dir string) error {
	root, err := os.OpenFile(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer root.Close()
	dev, err := openInRootDir(root, "dev")
	if err != nil {
		return err
	}
	defer unix.Close(dev)
	for _, name := range hostDevs {
		var st unix.Stat_t
		if unix.Fstatat(dev, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size != 0 {
			continue
		}
		if err := unix.Unlinkat(dev, name, 0); err != nil {
			return fmt.Errorf("remove %s/dev/%s: %w", dir, name, err)
		}
	}
	return nil
}

// openInRootDir opens the directory name of root, not following a link.
func openInRootDir(root *os.File, name string) (int, error) {
	return unix.Openat(int(root.Fd()), name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
}
