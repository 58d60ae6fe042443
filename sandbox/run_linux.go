package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
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
	// HostAddrs are the host's addresses, which the sandbox's network
	// must not reach (see blockHostAddrs).
	HostAddrs []netip.Addr `json:"host_addrs,omitempty"`
	// ProxyFD is the socket on which the init sends pkgbox the listening
	// socket of the sandbox's HTTP proxy (see proxy.go); 0 without.
	ProxyFD int `json:"proxy_fd,omitempty"`
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
	if os.Geteuid() != 0 && !spec.userns() {
		return nil, &NeedRootError{}
	}
	r := &sandboxRun{spec: spec, stdio: stdio, cfg: &initConfig{Spec: spec}}
	// Whatever the outcome, undo the host-side steps taken so far.
	defer r.cleanup()
	if err := r.prepare(); err != nil {
		return nil, err
	}
	if err := r.start(ctx); err != nil {
		return nil, err
	}
	r.relayTerminal()
	waitErr := r.supervise(ctx)
	return r.finish(waitErr)
}

// sandboxRun is one sandbox in flight: what Run has made on the host, and
// what it must undo when the sandbox ends (cleanup).
type sandboxRun struct {
	spec  *Spec
	stdio Stdio
	cfg   *initConfig

	cmd                       *exec.Cmd
	configW, statusR, console *os.File
	// Closed once the init has started (closeAfterStart: the init's own
	// ends), and when Run returns (both lists).
	closeAfterStart, closeAfterWait []*os.File

	pastaBin string
	link     *pasta
	// viaProxy: the network of a rootless sandbox where pasta cannot
	// open /dev/net/tun is pkgbox's HTTP proxy, served on proxySock's
	// listener.
	viaProxy  bool
	proxySock *os.File
	proxy     *proxy
	cg        *cgroup
	devs      *deviceCgroup
	joins     []cgroupJoin
	sigc      chan os.Signal
	waited    chan error // the init's exec.Cmd.Wait, from the thread that started it

	relay     *ttyRelay
	relayCh   chan *ttyRelay
	relayDone chan struct{}
}

// prepare makes everything the init needs before it starts: the pipes, the
// descriptors it inherits, its command, and the cgroups it is born in.
func (r *sandboxRun) prepare() error {
	r.viaProxy = r.spec.Network && r.spec.userns() && !tunUsable()
	extra, err := r.openPipes()
	if err != nil {
		return err
	}
	extra, err = r.extraFiles(extra)
	if err != nil {
		return err
	}
	if err := r.command(extra); err != nil {
		return err
	}
	return r.makeCgroups()
}

// openPipes makes the config, status and life pipes and returns the init's
// ends, in the order of its descriptors (fdConfig, fdStatus, fdLife).
func (r *sandboxRun) openPipes() ([]*os.File, error) {
	pipe := func() (rd, wr *os.File, err error) {
		rd, wr, err = os.Pipe()
		if err != nil {
			return nil, nil, fmt.Errorf("start sandbox: %w", err)
		}
		return rd, wr, nil
	}
	configR, configW, err := pipe()
	if err != nil {
		return nil, err
	}
	r.configW = configW
	r.closeAfterStart = append(r.closeAfterStart, configR)
	r.closeAfterWait = append(r.closeAfterWait, configW)
	statusR, statusW, err := pipe()
	if err != nil {
		return nil, err
	}
	r.statusR = statusR
	r.closeAfterStart = append(r.closeAfterStart, statusW)
	r.closeAfterWait = append(r.closeAfterWait, statusR)
	// The init watches lifeR: it reads EOF only when every copy of lifeW is
	// closed, that is when this process is gone. Pdeathsig alone is not
	// enough (golang/go#27505: it follows the thread, not the process).
	lifeR, lifeW, err := pipe()
	if err != nil {
		return nil, err
	}
	r.closeAfterStart = append(r.closeAfterStart, lifeR)
	r.closeAfterWait = append(r.closeAfterWait, lifeW)
	return []*os.File{configR, statusW, lifeR}, nil
}

// socketTo makes a socket pair whose one end the init inherits, appended
// to extra as descriptor fd; the other end is pkgbox's.
func (r *sandboxRun) socketTo(extra []*os.File) (parentEnd *os.File, fd int, _ []*os.File, _ error) {
	parentEnd, childEnd, err := socketPair()
	if err != nil {
		return nil, 0, extra, fmt.Errorf("start sandbox: %w", err)
	}
	r.closeAfterStart = append(r.closeAfterStart, childEnd)
	r.closeAfterWait = append(r.closeAfterWait, parentEnd)
	return parentEnd, fdConfig + len(extra), append(extra, childEnd), nil
}

// extraFiles appends to extra, the pipes' ends, the other descriptors the
// init inherits: the console socket (TTY only), Spec.Hold and the detached
// trees of file mounts, whose numbers it writes into the configuration.
func (r *sandboxRun) extraFiles(extra []*os.File) ([]*os.File, error) {
	spec := r.spec
	var err error
	if spec.TTY {
		if r.console, r.cfg.ConsoleFD, extra, err = r.socketTo(extra); err != nil {
			return nil, err
		}
		r.cfg.Winsize = terminalSize(r.stdio.Stdout)
	}
	if r.viaProxy {
		if r.proxySock, r.cfg.ProxyFD, extra, err = r.socketTo(extra); err != nil {
			return nil, err
		}
		sp := *r.cfg.Spec
		sp.Env = withProxyEnv(sp.Env)
		r.cfg.Spec = &sp
	}
	for _, f := range spec.Hold {
		r.cfg.HoldFDs = append(r.cfg.HoldFDs, fdConfig+len(extra))
		extra = append(extra, f)
	}
	trees, err := detachMounts(spec)
	r.closeAfterStart = append(r.closeAfterStart, trees...)
	if err != nil {
		return nil, err
	}
	if len(trees) > 0 {
		sp := *r.cfg.Spec
		sp.Mounts = append([]Mount(nil), spec.Mounts...)
		for i := range sp.Mounts {
			if sp.Mounts[i].File != nil {
				sp.Mounts[i].TreeIsFile = spec.userns()
				sp.Mounts[i].TreeFD = fdConfig + len(extra)
				extra = append(extra, trees[0])
				trees = trees[1:]
			}
		}
		r.cfg.Spec = &sp
	}
	return extra, nil
}

// command builds the init's command (this binary, re-executed) with the
// namespaces it is born in, and finds pasta when the network is on.
func (r *sandboxRun) command(extra []*os.File) error {
	spec, stdio := r.spec, r.stdio
	cmd := exec.Command("/proc/self/exe", InitArg)
	if spec.userns() {
		cmd.Args = append(cmd.Args, initStageUserns)
	}
	r.cmd = cmd
	cmd.Env = []string{}
	cmd.ExtraFiles = extra
	cmd.Stderr = os.Stderr // only a crash of the init itself prints here
	if !spec.TTY {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = stdio.Stdin, stdio.Stdout, stdio.Stderr
	}
	// A network namespace of its own in every case: with the network,
	// pasta links it to the world (pasta_linux.go), never the host's own.
	flags := unix.CLONE_NEWPID | unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWNET
	if spec.userns() {
		// Created together with the others, the user namespace owns
		// them all: its root may then mount, set the host name and
		// configure the network in them, and nowhere else.
		flags |= unix.CLONE_NEWUSER
	}
	if spec.Network && !r.viaProxy {
		var err error
		if r.pastaBin, err = lookPasta(); err != nil {
			return err
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: uintptr(flags),
		Pdeathsig:  syscall.SIGKILL,
		// A session of its own: the terminal's signals reach pkgbox only,
		// which forwards them, instead of racing it to the payload.
		Setsid: true,
	}
	return nil
}

// makeCgroups makes the sandbox's cgroups (Spec.Limits, and the device
// cgroup of a confined sandbox) and arranges for the init to be born in
// them.
func (r *sandboxRun) makeCgroups() error {
	spec, cmd := r.spec, r.cmd
	cgName := fmt.Sprintf("%d-%d", os.Getpid(), cgroupSeq.Add(1))
	if spec.Limits != (Limits{}) {
		cg, err := newCgroup(cgName, spec.Limits)
		if ce, ok := errors.AsType[*CgroupError](err); ok && os.Geteuid() != 0 {
			// Rootless: only a cgroup delegated to the user (systemd's
			// user session on cgroup v2) could be written.
			return &CgroupError{Limit: ce.Limit, Err: fmt.Errorf("rootless mode, and this machine delegates no cgroup to the user: %w", ce.Err)}
		}
		if err != nil {
			return err
		}
		r.cg = cg
	}
	// The init is born in its cgroups, never moved there: on v1 the
	// starting thread joins them for the fork (startIn), on v2 clone3
	// puts it there (CLONE_INTO_CGROUP).
	if cg := r.cg; cg != nil && cg.v2 {
		dir, err := cg.open()
		if err != nil {
			return err
		}
		r.closeAfterStart = append(r.closeAfterStart, dir)
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = int(dir.Fd())
	} else if cg != nil {
		for _, dir := range cg.dirs() {
			r.joins = append(r.joins, cgroupJoin{dir: dir})
		}
	}
	// Best effort: where no device cgroup can be made, a confined payload
	// still has no CAP_MKNOD and every mount but /dev is nodev.
	if !spec.Privileged {
		if devs, err := newDeviceCgroup(cgName); err == nil {
			r.devs = devs
			r.joins = append(r.joins, devs.join())
		}
	}
	return nil
}

// cleanup undoes, in reverse order, what Run did on the host: it stops
// pasta or the proxy, stops forwarding signals, removes the cgroups and closes the
// files Run still holds.
func (r *sandboxRun) cleanup() {
	if r.link != nil {
		r.link.stop()
	}
	if r.proxy != nil {
		r.proxy.close()
	}
	if r.sigc != nil {
		signal.Stop(r.sigc)
	}
	if r.devs != nil {
		r.devs.remove()
	}
	if r.cg != nil {
		r.cg.remove()
	}
	for _, f := range append(r.closeAfterStart, r.closeAfterWait...) {
		f.Close()
	}
}

// start starts the init in its namespaces and cgroups, links its network
// (pasta) and then sends it its configuration, whose EOF lets the payload
// start.
func (r *sandboxRun) start(ctx context.Context) error {
	// Forward signals from before the start, so none is lost in between.
	r.sigc = make(chan os.Signal, 8)
	signal.Notify(r.sigc, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGWINCH)
	if err := r.startInit(); err != nil {
		return err
	}
	if r.spec.userns() {
		if err := r.mapIDs(); err != nil {
			return err
		}
	}
	if r.spec.Network {
		addrs, err := hostAddrs()
		if err != nil {
			r.cmd.Process.Kill()
			<-r.waited
			return err
		}
		r.cfg.HostAddrs = addrs
		if !r.viaProxy {
			// The init waits for its configuration: its payload starts
			// only once pasta has configured the namespace.
			link, err := startPasta(ctx, r.pastaBin, r.cmd.Process.Pid, r.spec.userns())
			if err != nil {
				r.cmd.Process.Kill()
				<-r.waited
				return err
			}
			r.link = link
			r.cfg.DNSForward = link.dnsForward
		}
	}
	for _, f := range r.closeAfterStart {
		f.Close()
	}
	r.closeAfterStart = nil
	if err := r.sendConfig(); err != nil {
		return err
	}
	if r.viaProxy {
		r.serveProxy()
	}
	return nil
}

// serveProxy receives the listening socket the init made on the
// sandbox's loopback and serves the HTTP proxy on it until the sandbox
// ends. An init that fails before it sends one reports why on its status
// pipe; the proxy is then simply not served.
func (r *sandboxRun) serveProxy() {
	f, err := receiveFD(r.proxySock)
	if err != nil {
		return
	}
	defer f.Close()
	l, err := net.FileListener(f)
	if err != nil {
		return
	}
	r.proxy = newProxy(l, hostDenier(r.cfg.HostAddrs))
}

// mapIDs gives the init's user namespace its maps and then lets the
// init's first stage, which waits for them, go on (see usernsStage).
func (r *sandboxRun) mapIDs() error {
	err := writeIDMaps(r.cmd.Process.Pid, r.spec.UIDMap, r.spec.GIDMap)
	if err == nil {
		_, err = r.configW.Write([]byte{'\n'})
	}
	if err != nil {
		r.cmd.Process.Kill()
		<-r.waited
		return err
	}
	return nil
}

// startInit forks the init from a thread of its own, which then waits for
// it; r.waited receives the result of that wait.
func (r *sandboxRun) startInit() error {
	cmd, joins := r.cmd, r.joins
	// Start and wait from one goroutine locked to its OS thread: Pdeathsig
	// fires when the thread that forked the child exits (golang/go#27505),
	// so that thread must live as long as the child.
	started := make(chan error, 1)
	waited := make(chan error, 1)
	r.waited = waited
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
		return fmt.Errorf("start sandbox: %w", err)
	}
	return nil
}

// sendConfig writes the configuration to the init and closes the pipe;
// should that fail, it kills the init and waits for it.
func (r *sandboxRun) sendConfig() error {
	data, err := json.Marshal(r.cfg)
	if err == nil {
		_, err = r.configW.Write(data)
	}
	r.configW.Close()
	if err != nil {
		r.cmd.Process.Kill()
		<-r.waited
		return fmt.Errorf("start sandbox: send configuration: %w", err)
	}
	return nil
}

// cgroupSeq numbers the cgroups of one pkgbox process.
var cgroupSeq atomic.Int64

// NeedRootError says pkgbox must run as root for namespaces and mounts.
type NeedRootError struct{}

func (*NeedRootError) Error() string {
	return "start sandbox: pkgbox needs root, or a user namespace map (rootless mode), for namespaces and mounts"
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
	if (len(s.UIDMap) == 0) != (len(s.GIDMap) == 0) {
		return errors.New("start sandbox: a user namespace needs both a uid map and a gid map")
	}
	for _, m := range append(s.UIDMap[:len(s.UIDMap):len(s.UIDMap)], s.GIDMap...) {
		if m.Count == 0 {
			return errors.New("start sandbox: an id map line maps no ids")
		}
	}
	for _, m := range s.Mounts {
		if err := m.Validate(); err != nil {
			return fmt.Errorf("start sandbox: %w", err)
		}
	}
	return nil
}

// MaybeInit becomes the sandbox's init, and never returns, when this process
// was started as one (os.Args[1] == InitArg), or RemoveTree's helper. Call it first thing in main
// and in TestMain of test packages that start sandboxes.
func MaybeInit() {
	if len(os.Args) < 2 {
		return
	}
	switch os.Args[1] {
	case InitArg:
		initMain()
	case removeArg:
		removeMain()
	case execArg:
		execMain()
	}
}
