package testenv

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"pkgbox/sandbox"
)

// Rootless tests run as root (like CI) and start the code under test as an
// ordinary user with subordinate ranges, made once per machine and kept
// (like the shared root): its rootless root belongs to its ranges, so the
// user must keep them between runs.

// RootlessUserName is the test user of rootless mode.
const RootlessUserName = "pkgbox-rootless"

// RootlessDir holds what the rootless tests keep between runs: the test
// user's root (root/) and copies of test binaries (bin/). N is the version
// of what it holds.
const RootlessDir = "/var/tmp/pkgbox-test-rootless-1"

// ChildEnv is set in the environment of a test binary that a rootless test
// started as the test user: the test then runs its user's half.
const ChildEnv = "PKGBOX_TEST_ROOTLESS_CHILD"

// RootlessUser is the test user.
type RootlessUser struct {
	Name     string
	UID, GID int
	Home     string
	// SubUID and SubGID are the first ids of its subordinate ranges.
	SubUID, SubGID uint32
}

// lockFile takes an exclusive flock on path, made if needed, for the
// machine-wide steps of rootless tests that run in parallel processes.
func lockFile(t testing.TB, path string) func() {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	return func() { f.Close() }
}

// TestUser returns the rootless test user, making it (useradd) and giving
// it subordinate ranges of 65536 ids (usermod) where it lacks them. It is
// idempotent: a user and ranges already there are kept as they are.
func TestUser(t testing.TB) *RootlessUser {
	t.Helper()
	Require(t, Root)
	for _, tool := range []string{"newuidmap", "newgidmap", "setpriv", "useradd"} {
		if _, err := exec.LookPath(tool); err != nil {
			// .ci/install-deps installs them: CI must not go green
			// by skipping.
			if required(Root) {
				t.Fatalf("rootless tests need %s (package uidmap, util-linux, passwd), which %s=root requires", tool, RequireEnv)
			}
			t.Skipf("rootless tests need %s (package uidmap, util-linux, passwd)", tool)
		}
	}
	if err := os.MkdirAll(RootlessDir, 0o755); err != nil {
		t.Fatal(err)
	}
	defer lockFile(t, filepath.Join(RootlessDir, "lock"))()
	if _, err := user.Lookup(RootlessUserName); err != nil {
		if out, err := exec.Command("useradd", "--create-home", "--shell", "/bin/sh",
			"--comment", "pkgbox rootless tests", RootlessUserName).CombinedOutput(); err != nil {
			t.Fatalf("useradd %s: %v: %s", RootlessUserName, err, out)
		}
	}
	u, err := user.Lookup(RootlessUserName)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	ru := &RootlessUser{Name: u.Username, UID: uid, GID: gid, Home: u.HomeDir}
	for _, f := range []struct {
		file, flag string
		start      *uint32
	}{{"/etc/subuid", "--add-subuids", &ru.SubUID}, {"/etc/subgid", "--add-subgids", &ru.SubGID}} {
		r, free := subRange(t, f.file, ru)
		if r == nil {
			rng := fmt.Sprintf("%d-%d", free, free+sandbox.SubIDCount)
			if out, err := exec.Command("usermod", f.flag, rng, ru.Name).CombinedOutput(); err != nil {
				t.Fatalf("usermod %s %s: %v: %s", f.flag, rng, err, out)
			}
			if r, _ = subRange(t, f.file, ru); r == nil {
				t.Fatalf("%s gives %s no range after usermod", f.file, ru.Name)
			}
		}
		*f.start = r.Start
	}
	return ru
}

// subRange returns the user's first range of file that is large enough,
// else nil and the first id above every range of the file.
func subRange(t testing.TB, file string, u *RootlessUser) (*sandbox.SubIDRange, uint32) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, r := range sandbox.ParseSubIDs(data, u.Name, u.UID) {
		if r.Count >= sandbox.SubIDCount+1 {
			return &r, 0
		}
	}
	free := uint32(100000)
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(line, ":")
		if len(f) != 3 {
			continue
		}
		start, err1 := strconv.ParseUint(f[1], 10, 32)
		count, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 == nil && err2 == nil && uint32(start+count) > free {
			free = uint32(start + count)
		}
	}
	return nil, free
}

// RootlessStore returns the test user's store, whose root RootName is
// owned as rootless roots are: a copy of the shared test root whose ids are
// shifted through the user's map (0 to the user, n to SubUID+n-1). It is
// made once per machine, in a temporary place renamed in, and reused; the
// test user opens it (and makes its other folders) on first use.
func RootlessStore(t testing.TB, u *RootlessUser) (dir, root string) {
	t.Helper()
	s, shared := SharedRoot(t)
	defer lockFile(t, filepath.Join(RootlessDir, "lock"))()
	dir = filepath.Join(RootlessDir, "store")
	dst := filepath.Join(dir, "roots", RootName)
	if _, err := os.Lstat(dst); err == nil {
		return dir, dst
	}
	for _, d := range []string{dir, filepath.Join(dir, "roots")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, u.UID, u.GID); err != nil {
			t.Fatal(err)
		}
	}
	meta, err := os.ReadFile(filepath.Join(s.Dir, "roots", RootName+".json"))
	if err != nil {
		t.Fatal(err)
	}
	metaPath := filepath.Join(dir, "roots", RootName+".json")
	if err := os.WriteFile(metaPath, meta, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(metaPath, u.UID, u.GID); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, "roots", "."+RootName+".tmp")
	if err := os.RemoveAll(tmp); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "cp", "-a", "--one-file-system", shared, tmp).CombinedOutput(); err != nil {
		t.Fatalf("copy the shared root: %v: %s", err, out)
	}
	if err := shiftIDs(tmp, u); err != nil {
		t.Fatalf("shift the ids of %s: %v", tmp, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
	return dir, dst
}

// shiftIDs changes the owner of every file below dir as the user namespace
// maps them; chown clears set-id bits, so they are put back.
func shiftIDs(dir string, u *RootlessUser) error {
	shift := func(id uint32, self int, sub uint32) (int, error) {
		switch {
		case id == 0:
			return self, nil
		case id <= sandbox.SubIDCount:
			return int(sub + id - 1), nil
		}
		return 0, fmt.Errorf("id %d is beyond the map", id)
	}
	// A hard link's inode is shifted once, at its first name.
	done := map[uint64]bool{}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		if done[st.Ino] {
			return nil
		}
		done[st.Ino] = true
		uid, err := shift(st.Uid, u.UID, u.SubUID)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		gid, err := shift(st.Gid, u.GID, u.SubGID)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if err := unix.Lchown(p, uid, gid); err != nil {
			return err
		}
		if st.Mode&unix.S_IFMT != unix.S_IFLNK && st.Mode&(unix.S_ISUID|unix.S_ISGID) != 0 {
			return unix.Chmod(p, st.Mode&0o7777)
		}
		return nil
	})
}

// RunAsUser runs the test called name of the running test binary as user
// u, with ChildEnv set and env added, and returns its combined output. The
// binary is copied where the user can run it.
func RunAsUser(t testing.TB, u *RootlessUser, name string, env ...string) (string, error) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(RootlessDir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(bin, fmt.Sprintf("%s-%d", filepath.Base(self), os.Getpid()))
	if _, err := os.Stat(exe); err != nil {
		if out, err := exec.Command("cp", self, exe).CombinedOutput(); err != nil {
			t.Fatalf("copy the test binary: %v: %s", err, out)
		}
		t.Cleanup(func() { os.Remove(exe) })
	}
	if err := os.Chmod(exe, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("setpriv", "--reuid", strconv.Itoa(u.UID), "--regid", strconv.Itoa(u.GID), "--init-groups", "--",
		exe, "-test.run", "^"+name+"$", "-test.count=1", "-test.v")
	cmd.Dir = bin
	cmd.Env = append([]string{ChildEnv + "=1", "HOME=" + u.Home, "USER=" + u.Name, "LOGNAME=" + u.Name,
		"PATH=/usr/local/bin:/usr/bin:/bin", "TMPDIR=" + u.Home}, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// IsChild says whether this test binary runs as the rootless test user,
// started by RunAsUser.
func IsChild() bool { return os.Getenv(ChildEnv) != "" }

// UserPkgbox returns a command that runs the running test binary as
// pkgbox (testscript.RunMain dispatches on argv[0]) as user u, with its
// store at storeDir and no configuration file of the machine's.
func UserPkgbox(t testing.TB, u *RootlessUser, storeDir string, args ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(RootlessDir, "bin", strconv.Itoa(os.Getpid()))
	exe := filepath.Join(bin, "pkgbox")
	if _, err := os.Stat(exe); err != nil {
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("cp", self, exe).CombinedOutput(); err != nil {
			t.Fatalf("copy the test binary: %v: %s", err, out)
		}
		if err := os.Chmod(exe, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(bin) })
	}
	cmd := exec.Command("setpriv", append([]string{"--reuid", strconv.Itoa(u.UID), "--regid", strconv.Itoa(u.GID), "--init-groups", "--", exe}, args...)...)
	cmd.Env = []string{"HOME=" + u.Home, "USER=" + u.Name, "LOGNAME=" + u.Name,
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"PKGBOX_STORE=" + storeDir, "XDG_CONFIG_HOME=" + filepath.Join(u.Home, ".config-test"), "TEST_SYSTEM_CONFIG=" + os.DevNull}
	cmd.Dir = u.Home
	return cmd
}

// LockTun keeps /dev/net/tun's mode as it is for the rest of the test:
// no OpenTun of another test process changes it meanwhile.
func LockTun(t testing.TB) {
	t.Helper()
	t.Cleanup(lockFile(t, filepath.Join(RootlessDir, "tun.lock")))
}

// OpenTun opens /dev/net/tun to every user (mode 0666, what Debian's udev
// rules set at boot) for the rest of the test, where the machine has left
// it root's (no udev): pasta needs it for a rootless sandbox's network.
// The mode is put back afterwards; the rootless tests that need it hold a
// lock meanwhile, so they never put it back under one another.
func OpenTun(t testing.TB) {
	t.Helper()
	LockTun(t)
	var st unix.Stat_t
	if err := unix.Stat("/dev/net/tun", &st); err != nil {
		t.Skipf("no /dev/net/tun: %v", err)
	}
	if st.Mode&0o666 == 0o666 {
		return
	}
	if err := os.Chmod("/dev/net/tun", 0o666); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.Chmod("/dev/net/tun", os.FileMode(st.Mode&0o777)); err != nil {
			t.Error(err)
		}
	})
}
