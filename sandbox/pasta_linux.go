package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// A sandbox with the network still gets a network namespace of its own:
// in the host's, a 127.0.0.1-only service answered, AF_PACKET sockets saw
// the host's traffic and CAP_NET_ADMIN reached the host's interfaces
// (issue 11, finding 3). pasta (package passt) links the fresh namespace to
// the world in user mode: it copies the host's address and routes into the
// namespace and relays the namespace's connections through sockets of its
// own on the host, as any client of the host would make them.

// pastaReadyTimeout bounds pasta's set-up; it takes a few milliseconds.
var pastaReadyTimeout = 10 * time.Second

// dnsForwardAddr is where the sandbox sends DNS queries when the host's
// resolver is on the host's loopback, which the namespace cannot reach:
// pasta relays UDP queries to this address to the host's first resolver.
// A link-local address no host uses for itself.
const dnsForwardAddr = "169.254.1.53"

// hostResolvConf is the file pasta reads the host's resolvers from; tests
// point it elsewhere.
var hostResolvConf = "/etc/resolv.conf"

// PastaMissingError says the network was asked for but pasta is not there.
// There is no fallback to the host's network namespace.
type PastaMissingError struct{}

func (*PastaMissingError) Error() string {
	return "network: pasta is not installed; apt-get install passt"
}

// Hint says why pasta is needed.
func (*PastaMissingError) Hint() string {
	return "a sandbox with the network gets a network namespace of its own, linked to the world by pasta " +
		"(package passt); pkgbox never gives it the host's namespace"
}

// tunUsable says whether pasta may open /dev/net/tun in a rootless
// sandbox: it opens it inside the sandbox's user namespace, where the
// device's owner, the host's root, is unmapped, so only its mode for
// others counts. Debian's udev rules make it 0666 at boot; machines
// without udev leave the kernel's 0600, and a rootless sandbox's network
// is then pkgbox's HTTP proxy (proxy.go).
func tunUsable() bool {
	return unix.Access("/dev/net/tun", unix.R_OK|unix.W_OK) == nil
}

// lookPasta finds the pasta binary.
func lookPasta() (string, error) {
	p, err := exec.LookPath("pasta")
	if err != nil {
		return "", &PastaMissingError{}
	}
	return p, nil
}

// pastaArgs are pasta's options for the namespace open on its stdin.
// Every choice closes a way back into the host:
//   - -T none -U none: by default pasta binds, in the namespace, every port
//     bound on the host and relays connections to the namespace's 127.0.0.1
//     to the host's loopback; that made host-only services reachable.
//   - --no-map-gw: by default the gateway's address stands for the host's
//     loopback; with this, it is the real gateway, as the host sees it.
//   - -t none -u none: by default ports bound in the namespace get bound on
//     the host (on every interface), so a build's test server would be
//     reachable from the host's network.
//
// And for pasta's own life:
//   - -f: pasta stays our child instead of forking into a detached PID
//     namespace, so Pdeathsig and our kill reach it.
//   - --runas 0:0: the default, nobody, changes pasta's effective uid, and
//     the kernel then clears Pdeathsig (prctl(2)); root with pasta's own
//     capability drop is what a root pkgbox can offer.
//   - --netns /proc/self/fd/0: the namespace is the init's, opened by pkgbox
//     and given as stdin: pasta keeps stdin open (newer ones close every
//     other inherited file), and needs no ptrace right over the init, which
//     bookworm's pasta has dropped before it opens /proc/PID/ns/net.
//   - --pid /proc/self/fd/1: pasta writes its PID to stdout, a pipe, once
//     the namespace's interface, address and routes are set up: our
//     readiness signal, with EOF if it dies first; no file, no polling.
//   - --no-netns-quit: pasta must not watch the namespace's path itself
//     (here a descriptor); its life is pkgbox's business.
//
// In rootless mode (userns), pasta runs as the caller, who has no
// capability on the host: it first joins the sandbox's user namespace
// (given by path: pasta keeps only stdin of what it inherits), whose root
// owns the network namespace, and it has no uid to give up (--runas needs
// root).
func pastaArgs(dnsForward bool, userns string) []string {
	args := []string{"-f", "-q", "--config-net",
		"-t", "none", "-u", "none", "-T", "none", "-U", "none", "--no-map-gw",
		"--no-netns-quit", "--pid", "/proc/self/fd/1", "--netns", "/proc/self/fd/0"}
	if userns != "" {
		args = append(args, "--userns", userns)
	} else {
		args = append(args, "--runas", "0:0")
	}
	if dnsForward {
		args = append(args, "--dns-forward", dnsForwardAddr)
	}
	return args
}

// pasta is a running pasta process serving one sandbox.
type pasta struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when pasta has been waited for
	stderr *tailBuffer
	// dnsForward is set when the sandbox must send DNS queries to
	// dnsForwardAddr (the host's resolver is on its loopback).
	dnsForward bool
}

// startPasta links the network namespace of process pid (the sandbox's
// init, not yet configured) to the world, and returns once the namespace's
// interface is configured; with userns, pasta joins the init's user
// namespace first. The caller must call stop.
func startPasta(ctx context.Context, bin string, pid int, userns bool) (_ *pasta, retErr error) {
	// Pin the namespace now: the init is our unreaped child, so this pid is
	// still it.
	ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		return nil, fmt.Errorf("network: open the sandbox's network namespace: %w", err)
	}
	defer ns.Close()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("network: start pasta: %w", err)
	}
	defer readyR.Close()

	p := &pasta{exited: make(chan struct{}), stderr: &tailBuffer{max: 4096}}
	p.dnsForward = loopbackResolver(hostResolvConf)
	usernsPath := ""
	if userns {
		usernsPath = fmt.Sprintf("/proc/%d/ns/user", pid)
	}
	p.cmd = exec.Command(bin, pastaArgs(p.dnsForward, usernsPath)...)
	p.cmd.Env = []string{}
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = ns, readyW, p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{
		// If pkgbox is killed, so is pasta: nothing else would end it.
		Pdeathsig: syscall.SIGKILL,
		// Not in pkgbox's process group: Ctrl-C at the terminal must not
		// cut the sandbox's network while pkgbox forwards it to the payload.
		Setsid: true,
	}
	// Pdeathsig follows the thread that forked the child (golang/go#27505):
	// start and wait from one goroutine locked to its thread for pasta's life.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := p.cmd.Start(); err != nil {
			runtime.UnlockOSThread()
			started <- err
			return
		}
		started <- nil
		_ = p.cmd.Wait()
		close(p.exited)
		// The thread exits with the goroutine (still locked): harmless now.
	}()
	err = <-started
	readyW.Close()
	if err != nil {
		return nil, fmt.Errorf("network: start pasta: %w", err)
	}
	defer func() {
		if retErr != nil {
			p.stop()
		}
	}()

	line := make(chan error, 1)
	go func() {
		s, err := bufio.NewReader(readyR).ReadString('\n')
		if err == nil && strings.TrimSpace(s) == "" {
			err = errors.New("empty PID line")
		}
		line <- err
	}()
	timer := time.NewTimer(pastaReadyTimeout)
	defer timer.Stop()
	select {
	case err = <-line:
	case <-timer.C:
		err = fmt.Errorf("not ready after %s", pastaReadyTimeout)
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		p.stop()
		if errors.Is(err, io.EOF) {
			// pasta closed its stdout without a word: it exited.
			err = fmt.Errorf("pasta ended before the namespace was ready (%s)", p.cmd.ProcessState)
		}
		return nil, p.failure(err)
	}
	return p, nil
}

// failure describes pasta's failure to set the namespace up, with what it
// said.
func (p *pasta) failure(err error) error {
	msg := strings.TrimSpace(p.stderr.String())
	if msg != "" {
		return fmt.Errorf("network: set up the sandbox's network: %w: pasta said: %s", err, msg)
	}
	return fmt.Errorf("network: set up the sandbox's network: %w", err)
}

// stop kills pasta and waits for it. The sandbox is over (or never
// started): nothing uses the namespace any more.
func (p *pasta) stop() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// loopbackResolver says whether the first IPv4 resolver of the resolv.conf
// at path, the one pasta forwards to, is on the host's loopback (such as
// systemd-resolved's 127.0.0.53): the sandbox's own loopback is not the
// host's, so it needs pasta's forwarder then. A missing file, or one without
// resolvers, means 127.0.0.1 to the C library.
func loopbackResolver(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return true
	}
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		a, err := netip.ParseAddr(f[1])
		if err != nil || !a.Is4() {
			continue
		}
		return a.IsLoopback()
	}
	return true
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	// bookworm's pasta also complains on stderr that it has no syslog.
	var keep [][]byte
	for _, l := range bytes.Split(t.buf, []byte("\n")) {
		if len(l) > 0 && !bytes.Contains(l, []byte("to syslog")) {
			keep = append(keep, l)
		}
	}
	return string(bytes.Join(keep, []byte("; ")))
}
