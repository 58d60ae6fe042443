package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
	"golang.org/x/term"
)

// The payload's terminal is a pseudo-terminal of the sandbox's own devpts:
// the init makes it (so the shell sees /dev/pts/0 inside, and owns it as its
// controlling terminal with working job control), and hands the master side
// to the parent over a socket, which relays it to the user's terminal in raw
// mode. Ctrl-C is then a byte that the sandbox's line discipline turns into
// SIGINT for the job in the foreground; pkgbox itself never sees it.

func socketPair() (parent, child *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	return os.NewFile(uintptr(fds[0]), "console-parent"), os.NewFile(uintptr(fds[1]), "console-child"), nil
}

// sendFD passes f over the unix socket sock.
func sendFD(sock *os.File, f *os.File) error {
	rights := unix.UnixRights(int(f.Fd()))
	return unix.Sendmsg(int(sock.Fd()), []byte{0}, rights, nil, 0)
}

// receiveFD receives one descriptor sent by sendFD.
func receiveFD(sock *os.File) (*os.File, error) {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, errors.New("no terminal received from the sandbox")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, errors.New("no terminal received from the sandbox")
	}
	return os.NewFile(uintptr(fds[0]), "pty-master"), nil
}

// terminalSize reads the size of w if it is a terminal.
func terminalSize(w io.Writer) *unix.Winsize {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return nil
	}
	return ws
}

// ttyRelay copies between the user's terminal and the sandbox's pty master.
type ttyRelay struct {
	master   *os.File
	in       *os.File // a non-blocking duplicate of stdin, so closing it ends the copy
	inFd     int
	out      io.Writer
	oldState *term.State
	wg       sync.WaitGroup
	once     sync.Once
}

func startRelay(master *os.File, stdio Stdio) (*ttyRelay, error) {
	in, ok := stdio.Stdin.(*os.File)
	if !ok {
		return nil, errors.New("a terminal session needs a terminal on stdin")
	}
	r := &ttyRelay{master: master, out: stdio.Stdout, inFd: int(in.Fd())}
	if r.out == nil {
		r.out = io.Discard
	}
	if term.IsTerminal(r.inFd) {
		st, err := term.MakeRaw(r.inFd)
		if err != nil {
			return nil, fmt.Errorf("set terminal to raw mode: %w", err)
		}
		r.oldState = st
	}
	// A duplicate in non-blocking mode goes through Go's poller, so Close
	// can interrupt a pending Read; restore() puts the mode back, since the
	// flag is shared with the user's shell.
	dup, err := unix.Dup(r.inFd)
	if err == nil {
		if err = unix.SetNonblock(dup, true); err == nil {
			r.in = os.NewFile(uintptr(dup), "stdin")
		} else {
			unix.Close(dup)
		}
	}
	r.resize()
	if r.in != nil {
		go func() { _, _ = io.Copy(master, r.in) }()
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		// Ends with EIO once every process holding the other side is gone.
		_, _ = io.Copy(r.out, master)
	}()
	return r, nil
}

func (r *ttyRelay) wait() { r.wg.Wait() }

// resize gives the sandbox's terminal the size of the user's.
func (r *ttyRelay) resize() {
	ws, err := unix.IoctlGetWinsize(r.inFd, unix.TIOCGWINSZ)
	if err != nil {
		return
	}
	_ = unix.IoctlSetWinsize(int(r.master.Fd()), unix.TIOCSWINSZ, ws)
}

// restore puts the user's terminal back as it was.
func (r *ttyRelay) restore() {
	r.once.Do(func() {
		if r.in != nil {
			_ = unix.SetNonblock(int(r.in.Fd()), false)
			r.in.Close()
		}
		if r.oldState != nil {
			_ = term.Restore(r.inFd, r.oldState)
		}
		r.master.Close()
	})
}

// openPTY makes a new pseudo-terminal from the sandbox's devpts (the init
// calls it after pivot_root, so /dev/ptmx is the sandbox's own).
func openPTY(ws *unix.Winsize) (master, slave *os.File, err error) {
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("open /dev/ptmx: %w", err)
	}
	master = os.NewFile(uintptr(mfd), "/dev/ptmx")
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetInt(mfd, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("get pty number: %w", err)
	}
	name := fmt.Sprintf("/dev/pts/%d", n)
	sfd, err := unix.Open(name, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("open %s: %w", name, err)
	}
	if ws != nil {
		_ = unix.IoctlSetWinsize(sfd, unix.TIOCSWINSZ, ws)
	}
	return master, os.NewFile(uintptr(sfd), name), nil
}
