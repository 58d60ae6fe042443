package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// initMain is the sandbox's PID 1. It never returns.
func initMain() {
	status := os.NewFile(fdStatus, "status")
	fail := func(err error) {
		_ = json.NewEncoder(status).Encode(statusOf(err))
		os.Exit(1)
	}

	if len(os.Args) > 2 && os.Args[2] == initStageUserns {
		usernsStage(fdConfig, []string{os.Args[0], InitArg}, failStatus) // never returns
	}
	config := watchParent()
	cfg, err := readConfig(config)
	if err != nil {
		fail(err)
	}
	spec := cfg.Spec
	if spec.userns() {
		if err := enterUserns(); err != nil {
			fail(err)
		}
	}
	if err := setupSandbox(cfg); err != nil {
		fail(err)
	}
	cmd, slave, err := preparePayload(cfg)
	if err != nil {
		fail(err)
	}

	// PID 1 ignores every signal it has no handler for, so the ones to
	// forward need handlers; SIGCHLD drives the reaper.
	sigc := make(chan os.Signal, 32)
	signal.Notify(sigc, unix.SIGCHLD, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT)
	if err := startPayload(cmd, spec, config); err != nil {
		fail(err)
	}
	if slave != nil {
		slave.Close()
	}
	reapAndForward(status, cmd.Process.Pid, sigc)
}

// watchParent makes the init exit when pkgbox dies, and returns the
// configuration pipe, ready to be read.
func watchParent() (config *os.File) {
	// The two pipes the init waits on are read through Go's poller, which
	// os.NewFile uses for a non-blocking descriptor: a blocked read then
	// parks a goroutine instead of holding a thread, which the runtime
	// would replace by starting another one (issue 12). Only the init
	// reads these ends; pkgbox closed its copies when the init started.
	for _, fd := range []int{fdLife, fdConfig} {
		_ = unix.SetNonblock(fd, true)
	}
	// If pkgbox dies, the last copy of the life pipe's write end closes and
	// this read returns: the init then exits, and the kernel kills the rest
	// of the namespace with it.
	go func() {
		life := os.NewFile(fdLife, "life")
		_, _ = io.Copy(io.Discard, life)
		os.Exit(137)
	}()
	return os.NewFile(fdConfig, "config")
}

// readConfig reads the configuration pkgbox sends on config. The pipe
// stays open: its EOF comes later (see startPayload).
func readConfig(config *os.File) (*initConfig, error) {
	var cfg initConfig
	if err := json.NewDecoder(config).Decode(&cfg); err != nil {
		return nil, fmt.Errorf("read sandbox configuration: %w", err)
	}
	if cfg.Spec == nil {
		return nil, errors.New("read sandbox configuration: empty")
	}
	return &cfg, nil
}

// setupSandbox builds the sandbox around the init, in this order: the root
// and its mounts (pivoted into), the hostname, the network (lo, or pasta's
// DNS forwarder), and close-on-exec on every inherited descriptor.
func setupSandbox(cfg *initConfig) error {
	spec := cfg.Spec
	if err := setupRoot(spec); err != nil {
		return err
	}
	if spec.Hostname != "" {
		if err := unix.Sethostname([]byte(spec.Hostname)); err != nil {
			return fmt.Errorf("set hostname %q: %w", spec.Hostname, err)
		}
	}
	switch {
	case !spec.Network:
		if err := loopbackUp(); err != nil {
			return err
		}
	case cfg.ProxyFD != 0:
		if err := loopbackUp(); err != nil {
			return err
		}
		if err := listenForProxy(os.NewFile(uintptr(cfg.ProxyFD), "proxy socket")); err != nil {
			return err
		}
	default:
		if err := blockHostAddrs(cfg.HostAddrs); err != nil {
			return err
		}
		if cfg.DNSForward {
			if err := useDNSForwarder(); err != nil {
				return err
			}
		}
	}
	// Nothing the init holds may leak into the payload: the life pipe, the
	// status pipe, locks. Go opens its own files close-on-exec; the
	// inherited ones are not.
	return closeOnExecFrom(3)
}

// preparePayload builds the payload's command and its standard streams:
// a new terminal, whose master goes to pkgbox, or the init's own. It
// returns the terminal's slave (nil without a TTY), for the caller to close
// once the payload has started.
func preparePayload(cfg *initConfig) (cmd *exec.Cmd, slave *os.File, err error) {
	spec := cfg.Spec
	cmd, err = payloadCommand(spec)
	if err != nil {
		return nil, nil, err
	}
	if spec.TTY {
		var master *os.File
		master, slave, err = openPTY(cfg.Winsize)
		if err != nil {
			return nil, nil, err
		}
		if err := sendFD(os.NewFile(uintptr(cfg.ConsoleFD), "console"), master); err != nil {
			return nil, nil, fmt.Errorf("pass terminal to pkgbox: %w", err)
		}
		master.Close()
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		cmd.SysProcAttr.Setsid = true
		cmd.SysProcAttr.Setctty = true
		cmd.SysProcAttr.Ctty = 0
	} else {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		cmd.SysProcAttr.Setpgid = true
	}
	return cmd, slave, nil
}

// startPayload waits for the configuration's EOF, confines the payload
// unless spec is privileged, and starts it. It locks the calling goroutine
// to its thread for good.
func startPayload(cmd *exec.Cmd, spec *Spec, config *os.File) error {
	// The bounding set is per thread, and the payload inherits the one of
	// the thread that forks it: drop and start on one locked thread.
	runtime.LockOSThread()
	// EOF after the configuration: pkgbox closes its end once pasta has
	// linked the network (see Run), so the payload starts on a network
	// that works. (The cgroups need no wait: this process was born in
	// them.)
	_, _ = io.Copy(io.Discard, config)
	if !spec.Privileged {
		if err := confine(cmd); err != nil {
			return err
		}
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %q: %w", spec.Args[0], err)
	}
	return nil
}

// reapAndForward reaps every child of the init and forwards the signals
// of sigc to the payload pid's process group, until the payload ends: the
// init then exits with its status (exitWith). It never returns.
func reapAndForward(status *os.File, pid int, sigc <-chan os.Signal) {
	// Only this loop waits: exec.Cmd.Wait would race it for the status.
	reap := func() {
		for {
			var ws unix.WaitStatus
			got, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
			if err == unix.EINTR {
				continue
			}
			if got <= 0 || err != nil {
				return
			}
			if got == pid {
				exitWith(status, ws)
			}
		}
	}
	reap()
	for sig := range sigc {
		if sig == unix.SIGCHLD {
			reap()
			continue
		}
		// The payload's process group, as a terminal would signal a job.
		s := sig.(unix.Signal)
		if unix.Kill(-pid, s) != nil {
			_ = unix.Kill(pid, s)
		}
	}
}

// exitWith reports the payload's end to the parent and exits with the same
// status, as a shell would report it: N, or 128+S for death by signal S.
// The exit takes the rest of the namespace with it.
func exitWith(status *os.File, ws unix.WaitStatus) {
	st := initStatus{}
	code := ws.ExitStatus()
	if ws.Signaled() {
		code = 128 + int(ws.Signal())
		st.Signal = int(ws.Signal())
	}
	st.Exit = &code
	_ = json.NewEncoder(status).Encode(st)
	os.Exit(code)
}

// payloadCommand prepares the payload: user, environment, working directory.
// It runs after pivot_root, so every path is the root's.
func payloadCommand(spec *Spec) (*exec.Cmd, error) {
	u, err := lookupUser(spec.User)
	if err != nil {
		return nil, err
	}
	path, err := lookPath(spec.Args[0], spec.Env)
	if err != nil {
		return nil, err
	}
	dir := spec.Dir
	if dir == "" {
		dir = "/"
		if fi, err := os.Stat(u.home); err == nil && fi.IsDir() && u.home != "" {
			dir = u.home
		}
	}
	env := spec.Env
	for _, kv := range []string{"HOME=" + u.home, "USER=" + u.name, "LOGNAME=" + u.name} {
		k, _, _ := strings.Cut(kv, "=")
		if !hasEnv(env, k) && u.home != "" {
			env = append(env, kv)
		}
	}
	cmd := &exec.Cmd{Path: path, Args: spec.Args, Env: env, Dir: dir}
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if u.uid != 0 || u.gid != 0 || len(u.groups) > 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: u.uid, Gid: u.gid, Groups: u.groups}
	}
	return cmd, nil
}

func hasEnv(env []string, key string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, key+"=") {
			return true
		}
	}
	return false
}

// lookPath finds name in the PATH of env, inside the root.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		if err := isExecutable(name); err != nil {
			return "", fmt.Errorf("start %q: %w", name, err)
		}
		return name, nil
	}
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if isExecutable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("start %q: no such command in the root's PATH (%s)", name, path)
}

func isExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return errors.Unwrap(err)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return errors.New("not an executable file")
	}
	return nil
}

// closeOnExecFrom marks every open descriptor from min on close-on-exec:
// with one close_range(2) call where the kernel has CLOSE_RANGE_CLOEXEC
// (Linux 5.11), else one by one from the list in /proc/self/fd.
func closeOnExecFrom(min int) error {
	if unix.CloseRange(uint(min), ^uint(0), unix.CLOSE_RANGE_CLOEXEC) == nil {
		return nil
	}
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("list open files: %w", err)
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd >= min {
			unix.CloseOnExec(fd)
		}
	}
	return nil
}
