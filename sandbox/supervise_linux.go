package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// relayTerminal starts, for a TTY sandbox, the relay between pkgbox's
// terminal and the one the init makes; it sends the relay on r.relayCh
// and closes r.relayDone once it has stopped.
func (r *sandboxRun) relayTerminal() {
	r.relayCh = make(chan *ttyRelay, 1)
	r.relayDone = make(chan struct{})
	if !r.spec.TTY {
		close(r.relayDone)
		return
	}
	console, stdio, relayCh, relayDone := r.console, r.stdio, r.relayCh, r.relayDone
	go func() {
		defer close(relayDone)
		master, err := receiveFD(console)
		if err != nil {
			return // the init failed before making the terminal; it says why
		}
		relay, err := startRelay(master, stdio)
		if err != nil {
			master.Close()
			return
		}
		relayCh <- relay
		relay.wait()
	}()
}

// supervise forwards signals to the init and resizes the terminal until
// the init has ended, and returns the result of waiting for it. When ctx
// is cancelled, or after a forwarded SIGTERM or SIGHUP, the init has
// KillGrace before it is killed.
func (r *sandboxRun) supervise(ctx context.Context) error {
	cmd := r.cmd
	var waitErr error
	var kill <-chan time.Time
	done := ctx.Done()
loop:
	for {
		select {
		case waitErr = <-r.waited:
			break loop
		case r.relay = <-r.relayCh:
		case <-done:
			done = nil
			_ = cmd.Process.Signal(unix.SIGTERM)
			if kill == nil {
				kill = time.After(KillGrace)
			}
		case <-kill:
			_ = cmd.Process.Kill()
		case sig := <-r.sigc:
			if sig == unix.SIGWINCH {
				if r.relay != nil {
					r.relay.resize()
				}
				continue
			}
			_ = cmd.Process.Signal(sig)
			if (sig == unix.SIGTERM || sig == unix.SIGHUP) && kill == nil {
				kill = time.After(KillGrace)
			}
		}
	}
	return waitErr
}

// finish lets the terminal relay drain, restores pkgbox's terminal, and
// turns what the init reported into a Result.
func (r *sandboxRun) finish(waitErr error) (*Result, error) {
	// The payload's end kills the namespace, which closes the terminal's
	// other side: the relay drains what is left and stops by itself.
	select {
	case <-r.relayDone:
	case <-time.After(2 * time.Second):
	}
	if r.relay == nil {
		select {
		case r.relay = <-r.relayCh:
		default:
		}
	}
	if r.relay != nil {
		r.relay.restore()
	}
	res, err := collect(r.statusR, r.cmd, waitErr)
	if r.cg == nil {
		return res, err
	}
	hit := r.cg.hit()
	var se *SetupError
	if res == nil && hit != "" && !errors.As(err, &se) {
		// The init shares the sandbox's limits, and ended without a
		// word: the Go runtime aborts when the kernel refuses it a thread
		// (a fork bomb holds every pid the limit allows) or memory. The
		// payload ran into the limit all the same, and is gone with the
		// namespace.
		res, err = &Result{ExitCode: 128 + int(unix.SIGKILL), Signal: unix.SIGKILL}, nil
	}
	if res != nil {
		res.Limit = hit
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
