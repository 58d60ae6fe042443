package reliability_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"pkgbox/cmd"
	"pkgbox/internal/testenv"
	"pkgbox/sandbox"
	"pkgbox/store"
)

var (
	rounds = flag.Int("rounds", 20, "interrupts per command")
	seed   = flag.Uint64("seed", 0, "random seed (0: from the clock; printed)")
)

// cliEnv makes this test binary act as pkgbox, so that the suite signals a
// real pkgbox process, as a user's Ctrl-C or kill would.
const cliEnv = "PKGBOX_RELIABILITY_CLI"

// tally counts what the suite tried and what it found.
var tally struct {
	sync.Mutex
	interrupts map[string]int // per command
	hostile    int
	concurrent int
	limits     int
	leaks      []string
}

func interrupted(command string) {
	tally.Lock()
	tally.interrupts[command]++
	tally.Unlock()
}

func count(what *int, n int) {
	tally.Lock()
	*what += n
	tally.Unlock()
}

func TestMain(m *testing.M) {
	sandbox.MaybeInit()
	if os.Getenv(cliEnv) == "1" {
		os.Exit(cmd.Main())
	}
	if dir := os.Getenv(metaEnv); dir != "" {
		writeMetaForever(dir)
	}
	flag.Parse()
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}
	tally.interrupts = map[string]int{}
	code := m.Run()
	var parts []string
	total := 0
	for _, c := range []string{"run", "build", "create", "update", "metadata writer"} {
		if n := tally.interrupts[c]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, c))
			total += n
		}
	}
	fmt.Printf("reliability (seed %d): %d interrupts (%s), %d hostile roots and inputs, %d concurrent operations, %d limits: %d leaks\n",
		*seed, total, strings.Join(parts, ", "), tally.hostile, tally.concurrent, tally.limits, len(tally.leaks))
	for _, l := range tally.leaks {
		fmt.Println("  leak:", l)
	}
	os.Exit(code)
}

// rng is the suite's random source, seeded once, printed at the end so a
// failing sequence can be replayed.
var rng = sync.OnceValue(func() *rand.Rand { return rand.New(rand.NewPCG(*seed, *seed^0x9e3779b97f4a7c15)) })

var rngMu sync.Mutex

func randDuration(max time.Duration) time.Duration {
	rngMu.Lock()
	defer rngMu.Unlock()
	return time.Duration(rng().Int64N(int64(max)))
}

func sleepRandom(max time.Duration) { time.Sleep(randDuration(max)) }

func randSignal() syscall.Signal {
	rngMu.Lock()
	defer rngMu.Unlock()
	return []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGKILL}[rng().IntN(3)]
}

// pkgbox is a pkgbox command on store dir.
func pkgbox(dir string, args ...string) *exec.Cmd {
	self, _ := os.Executable()
	c := exec.Command(self, args...)
	c.Env = append(os.Environ(), cliEnv+"=1", "PKGBOX_STORE="+dir)
	return c
}

// interrupt starts args, signals it after a random moment within window,
// and waits for it to end. It returns the signal sent (0 when the command
// ended first) and the command's output.
func interrupt(t *testing.T, dir string, window time.Duration, args ...string) (syscall.Signal, string) {
	t.Helper()
	c := pkgbox(dir, args...)
	var out bytes.Buffer
	c.Stdout, c.Stderr = &out, &out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	sig := randSignal()
	select {
	case <-done:
		return 0, out.String()
	case <-time.After(randDuration(window)):
	}
	_ = c.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = c.Process.Kill()
		<-done
		t.Fatalf("pkgbox %v did not end within 60 s of %v", args, sig)
	}
	return sig, out.String()
}

// checkClean asserts what every interrupted or finished operation on store
// dir must leave: no process working in the store, no mount under it, and,
// once gc has run (the pkgbox that should have cleaned up was killed), no
// temporary root, no session that is not kept, and metadata that parses.
func checkClean(t *testing.T, dir, what string) {
	t.Helper()
	leak := func(format string, args ...any) {
		msg := what + ": " + fmt.Sprintf(format, args...)
		tally.Lock()
		tally.leaks = append(tally.leaks, msg)
		tally.Unlock()
		t.Error(msg)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		procs := testenv.ProcessesIn(dir)
		if len(procs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			leak("processes left: %v", procs)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if m, _ := store.MountsUnder(dir); len(m) > 1 || len(m) == 1 && m[0] != dir {
		// The store itself may be a mount point (TestFullDisk's): below it,
		// nothing.
		leak("mounts left: %v", m)
	}
	if out, err := pkgbox(dir, "gc").CombinedOutput(); err != nil {
		leak("gc: %v: %s", err, out)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(left) > 0 {
		leak("temporary roots left after gc: %v", names(left))
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "layers", "tmp")); len(left) > 0 {
		leak("half-made build-dependency layers left after gc: %v", names(left))
	}
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	// gc leaves a session whose lock is still held, or that has no lock
	// file yet and is under a minute old (it may be being made). Give a
	// sandbox that is still dying a few seconds, then say which case a
	// session left over is in.
	for deadline := time.Now().Add(5 * time.Second); ; {
		left := liveSessions(s)
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			for _, id := range left {
				leak("session left after gc: %s (%s)", id, sessionState(filepath.Join(dir, "sessions", id)))
			}
			break
		}
		time.Sleep(250 * time.Millisecond)
		_ = pkgbox(dir, "gc").Run()
	}
	metas, _ := filepath.Glob(filepath.Join(dir, "roots", "*.json"))
	for _, m := range metas {
		data, err := os.ReadFile(m)
		var r store.Root
		if err == nil {
			err = json.Unmarshal(data, &r)
		}
		if err != nil {
			leak("metadata %s torn: %v", m, err)
		}
		if fi, err := os.Stat(strings.TrimSuffix(m, ".json")); err != nil || !fi.IsDir() {
			leak("metadata %s without its root", m)
		}
	}
}

func names(entries []os.DirEntry) []string {
	var n []string
	for _, e := range entries {
		n = append(n, e.Name())
	}
	return n
}

// sharedStore is the test store with its shared buildd root.
func sharedStore(t *testing.T) string {
	s, _ := testenv.SharedRoot(t)
	return s.Dir
}

// liveSessions lists the store's sessions that are not kept.
func liveSessions(s *store.Store) []string {
	sessions, _ := s.Sessions()
	var ids []string
	for _, si := range sessions {
		if !si.Kept {
			ids = append(ids, si.ID)
		}
	}
	return ids
}

// sessionState describes a session directory gc did not remove: what is
// in it, and whether its lock is held and by whom.
func sessionState(dir string) string {
	entries, _ := os.ReadDir(dir)
	state := "holds " + strings.Join(names(entries), " ")
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR, 0)
	if err != nil {
		return state + "; no lock file"
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return state + "; lock held, by " + strings.Join(testenv.ProcessesIn(dir), ", ")
	}
	return state + "; lock free"
}
