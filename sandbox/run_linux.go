package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// InitArg is argv[1] of the re-executed binary that becomes the sandbox's init.
const InitArg = "__pkgbox-init"

// KillGrace is how long the payload has to end after SIGTERM (forwarded, or
// sent because the context was cancelled) before the whole sandbox is killed.
var KillGrace = 10 * time.Second

// File descriptors of the init, in the order Run passes them.
const (
	fdConfig = 3 // the initConfig, as JSON; EOF once the network is linked (pasta)
	fdStatus = 4 // the init's messages to the parent, JSON lines
	fdLife   = 5 // read end of a pipe whose write end only the parent holds
	fdFirst  = 6 // then the console socket (TTY only), then Spec.Hold
)

// initConfig is what crosses to the init: the spec and where its extra
// descriptors are.
type initConfig struct {
	Spec      *Spec         `json:"spec"`
	ConsoleFD int           `json:"console_fd,omitempty"`
	HoldFDs   []int         `json:"hold_fds,omitempty"`
	Winsize   *unix.Winsize `json:"winsize,omitempty"`
	// DNSForward: point the sandbox's loopback resolvers at pasta's DNS
	// forwarder (see useDNSForwarder).
	DNSForward bool `json:"dns_forward,omitempty"`
}

// initStatus is one message from the init.
type initStatus struct {
	// Error is set when the sandbox could not be set up or the payload not started.
	Error string `json:"error,omitempty"`
	// Op, Target and Errno say which step failed and how (see SetupError).
	Op     string `json:"op,omitempty"`
	Target string `json:"target,omitempty"`
	Errno  int    `json:"errno,omitempty"`
	// Exit and Signal say how the payload ended.
	Exit   *int `json:"exit,omitempty"`
	Signal int  `json:"signal,omitempty"`
}

// Run starts the sandbox described by spec, waits for its payload and
// returns how it ended. SIGINT, SIGTERM, SIGHUP and SIGQUIT that reach pkgbox
// while the payload runs are forwarded to the payload's process group; after
// a forwarded SIGTERM or SIGHUP, or when ctx is cancelled (which sends
// SIGTERM), the payload has KillGrace to end before the whole sandbox is
// killed. An error means the sandbox could not be set up; the payload's own
// failure is a Result with a non-zero ExitCode.
func Run(ctx context.Context, spec *Spec, stdio Stdio) (_ *Result, retErr error) {
	if err := spec.validate(); err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, &NeedRootError{}
	}
	cfg := &initConfig{Spec: spec}
	var closeAfterStart, closeAfterWait []*os.File
	defer func() {
		for _, f := range append(closeAfterStart, closeAfterWait...) {
			f.Close()
		}
	}()
	pipe := func() (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		if err != nil {
			return nil, nil, fmt.Errorf("start sandbox: %w", err)
		}
		return r, w, nil
	}
	configR, configW, err := pipe()
	if err != nil {
		return nil, err
	}
	closeAfterStart = append(closeAfterStart, configR)
	closeAfterWait = append(closeAfterWait, configW)
	statusR, statusW, err := pipe()
	if err != nil {
		return nil, err
	}
	closeAfterStart = append(closeAfterStart, statusW)
	closeAfterWait = append(closeAfterWait, statusR)
	// The init watches lifeR: it reads EOF only when every copy of lifeW is
	// closed, that is when this process is gone. Pdeathsig alone is not
	// enough (golang/go#27505: it follows the thread, not the process).
	lifeR, lifeW, err := pipe()
	if err != nil {
		return nil, err
	}
	closeAfterStart = append(closeAfterStart, lifeR)
	closeAfterWait = append(closeAfterWait, lifeW)

	extra := []*os.File{configR, statusW, lifeR}
	var console *os.File
	if spec.TTY {
		parentEnd, childEnd, err := socketPair()
		if err != nil {
			return nil, fmt.Errorf("start sandbox: %w", err)
		}
		console = parentEnd
		closeAfterStart = append(closeAfterStart, childEnd)
		closeAfterWait = append(closeAfterWait, parentEnd)
		cfg.ConsoleFD = fdConfig + len(extra)
		extra = append(extra, childEnd)
		cfg.Winsize = terminalSize(stdio.Stdout)
	}
	for _, f := range spec.Hold {
		cfg.HoldFDs = append(cfg.HoldFDs, fdConfig+len(extra))
		extra = append(extra, f)
	}
	trees, err := detachMounts(spec)
	closeAfterStart = append(closeAfterStart, trees...)
	if err != nil {
		return nil, err
	}
	if len(trees) > 0 {
		sp := *spec
		sp.Mounts = append([]Mount(nil), spec.Mounts...)
		for i := range sp.Mounts {
			if sp.Mounts[i].File != nil {
				sp.Mounts[i].TreeFD = fdConfig + len(extra)
				extra = append(extra, trees[0])
				trees = trees[1:]
			}
		}
		cfg.Spec = &sp
	}

	cmd := exec.Command("/proc/self/exe", InitArg)
	cmd.Env = []string{}
	cmd.ExtraFiles = extra
	cmd.Stderr = os.Stderr // only a crash of the init itself prints here
	if !spec.TTY {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = stdio.Stdin, stdio.Stdout, stdio.Stderr
	}
	// A network namespace of its own in every case: with the network,
	// pasta links it to the world (pasta_linux.go), never the host's own.
	flags := unix.CLONE_NEWPID | unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWNET
	var pastaBin string
	if spec.Network {
		if pastaBin, err = lookPasta(); err != nil {
			return nil, err
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: uintptr(flags),
		Pdeathsig:  syscall.SIGKILL,
		// A session of its own: the terminal's signals reach pkgbox only,
		// which forwards them, instead of racing it to the payload.
		Setsid: true,
	}

	cgName := fmt.Sprintf("%d-%d", os.Getpid(), cgroupSeq.Add(1))
	var cg *cgroup
	if spec.Limits != (Limits{}) {
		cg, err = newCgroup(cgName, spec.Limits)
		if err != nil {
			return nil, err
		}
		defer cg.remove()
	}
	// The init is born in its cgroups, never moved there: on v1 the
	// starting thread joins them for the fork (startIn), on v2 clone3
	// puts it there (CLONE_INTO_CGROUP).
	var joins []cgroupJoin
	if cg != nil && cg.v2 {
		dir, err := cg.open()
		if err != nil {
			return nil, err
		}
		closeAfterStart = append(closeAfterStart, dir)
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = int(dir.Fd())
	} else if cg != nil {
		for _, dir := range cg.dirs() {
			joins = append(joins, cgroupJoin{dir: dir})
		}
	}
	// Best effort: where no device cgroup can be made, a confined payload
	// still has no CAP_MKNOD and every mount but /dev is nodev.
	if !spec.Privileged {
		if devs, err := newDeviceCgroup(cgName); err == nil {
			defer devs.remove()
			joins = append(joins, devs.join())
		}
	}

	// Forward signals from before the start, so none is lost in between.
	sigc := make(chan os.Signal, 8)
	signal.Notify(sigc, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGWINCH)
	defer signal.Stop(sigc)

	// Start and wait from one goroutine locked to its OS thread: Pdeathsig
	// fires when the thread that forked the child exits (golang/go#27505),
	// so that thread must live as long as the child.
	started := make(chan error, 1)
	waited := make(chan error, 1)
	// The thread is never unlocked: it exits with the goroutine, so that
	// one that joined the sandbox's cgroups never serves other goroutines
	// (see startIn).
	go func() {
		runtime.LockOSThread()
		if err := startIn(cmd, joins); err != nil {
			started <- err
			return
		}
		started <- nil
		awaitExit(cmd.Process.Pid)
		waited <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start sandbox: %w", err)
	}
	if spec.Network {
		// The init waits for its configuration: its payload starts only
		// once pasta has configured the namespace.
		link, err := startPasta(ctx, pastaBin, cmd.Process.Pid)
		if err != nil {
			cmd.Process.Kill()
			<-waited
			return nil, err
		}
		defer link.stop()
		cfg.DNSForward = link.dnsForward
	}
	for _, f := range closeAfterStart {
		f.Close()
	}
	closeAfterStart = nil

	data, err := json.Marshal(cfg)
	if err == nil {
		_, err = configW.Write(data)
	}
	configW.Close()
	if err != nil {
		cmd.Process.Kill()
		<-waited
		return nil, fmt.Errorf("start sandbox: send configuration: %w", err)
	}

	var relay *ttyRelay
	relayCh := make(chan *ttyRelay, 1)
	relayDone := make(chan struct{})
	if spec.TTY {
		go func() {
			defer close(relayDone)
			master, err := receiveFD(console)
			if err != nil {
				return // the init failed before making the terminal; it says why
			}
			r, err := startRelay(master, stdio)
			if err != nil {
				master.Close()
				return
			}
			relayCh <- r
			r.wait()
		}()
	} else {
		close(relayDone)
	}

	var waitErr error
	var kill <-chan time.Time
	done := ctx.Done()
loop:
	for {
		select {
		case waitErr = <-waited:
			break loop
		case relay = <-relayCh:
		case <-done:
			done = nil
			_ = cmd.Process.Signal(unix.SIGTERM)
			if kill == nil {
				kill = time.After(KillGrace)
			}
		case <-kill:
			_ = cmd.Process.Kill()
		case sig := <-sigc:
			if sig == unix.SIGWINCH {
				if relay != nil {
					relay.resize()
				}
				continue
			}
			_ = cmd.Process.Signal(sig)
			if (sig == unix.SIGTERM || sig == unix.SIGHUP) && kill == nil {
				kill = time.After(KillGrace)
			}
		}
	}
	// The payload's end kills the namespace, which closes the terminal's
	// other side: the relay drains what is left and stops by itself.
	select {
	case <-relayDone:
	case <-time.After(2 * time.Second):
	}
	if relay == nil {
		select {
		case relay = <-relayCh:
		default:
		}
	}
	if relay != nil {
		relay.restore()
	}
	res, err := collect(statusR, cmd, waitErr)
	if res != nil && cg != nil {
		res.Limit = cg.hit()
	}
	return res, err
}

// awaitExit returns once the process pid, a child not yet reaped, has
// ended, having waited in Go's poller on a pidfd of its own (a pidfd turns
// readable then); exec.Cmd.Wait then reaps it at once. Wait alone blocks
// in waitid(2), and a thread blocked in a system call for more than 10 ms
// makes the runtime's monitor take its P back and then wake every 20 µs
// for a millisecond: ~50 wake-ups, ~0.45 ms of CPU per entry here (issue
// 12). The pidfd is a new open file of its own (pidfd_open), so that
// PIDFD_NONBLOCK, which also makes waitid on it non-blocking, never
// reaches the one Wait uses. Where no pidfd can be polled, it returns at
// once and Wait blocks as before.
func awaitExit(pid int) {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Read(func(fd uintptr) bool {
		// WNOWAIT: look, and leave the reaping to Wait.
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PIDFD, int(fd), &info, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		return err != nil || info.Signo != 0
	})
}

// cgroupSeq numbers the cgroups of one pkgbox process.
var cgroupSeq atomic.Int64

// collect turns the init's last message and its wait status into a Result.
func collect(statusR *os.File, cmd *exec.Cmd, waitErr error) (*Result, error) {
	dec := json.NewDecoder(statusR)
	var last initStatus
	for {
		var st initStatus
		if err := dec.Decode(&st); err != nil {
			break
		}
		last = st
	}
	if last.Error != "" {
		return nil, setupError(last)
	}
	if last.Exit != nil {
		res := &Result{ExitCode: *last.Exit}
		if last.Signal != 0 {
			res.Signal = unix.Signal(last.Signal)
		}
		return res, nil
	}
	// No word from the init: it was killed (by us after the grace period, or
	// by someone else) or crashed.
	ps := cmd.ProcessState
	if ps == nil {
		return nil, fmt.Errorf("run sandbox: %w", waitErr)
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return &Result{ExitCode: 128 + int(ws.Signal()), Signal: ws.Signal()}, nil
	}
	return nil, fmt.Errorf("sandbox init ended without reporting (exit status %d)", ps.ExitCode())
}

// NeedRootError says pkgbox must run as root for namespaces and mounts.
type NeedRootError struct{}

func (*NeedRootError) Error() string {
	return "start sandbox: pkgbox needs root for namespaces and mounts"
}

// Hint says how to get root.
func (*NeedRootError) Hint() string { return "run it with sudo" }

func (s *Spec) validate() error {
	if s.Root == "" {
		return errors.New("start sandbox: no root given")
	}
	if len(s.Args) == 0 {
		return errors.New("start sandbox: no command given")
	}
	if len(s.UIDMap) > 0 || len(s.GIDMap) > 0 {
		return errors.New("start sandbox: user namespaces are not supported yet")
	}
	for _, m := range s.Mounts {
		if err := m.Validate(); err != nil {
			return fmt.Errorf("start sandbox: %w", err)
		}
	}
	return nil
}

// MaybeInit becomes the sandbox's init, and never returns, when this process
// was started as one (os.Args[1] == InitArg). Call it first thing in main
// and in TestMain of test packages that start sandboxes.
func MaybeInit() {
	if len(os.Args) < 2 || os.Args[1] != InitArg {
		return
	}
	initMain()
}
