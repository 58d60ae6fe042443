package doctor

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeEnv is an Env whose files are under a temporary directory, written
// as files maps them (path relative to it: content), with every program
// in programs found and every path in writable writable.
func fakeEnv(t *testing.T, files map[string]string) *Env {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	at := func(p string) string { return filepath.Join(dir, p) }
	return &Env{
		EUID: 1000, UID: 1000, User: "alice",
		ProcSys:         at("proc/sys"),
		ProcFilesystems: at("proc/filesystems"),
		ProcSelfCgroup:  at("proc/self/cgroup"),
		Mountinfo:       at("proc/self/mountinfo"),
		CgroupRoot:      at("sys/fs/cgroup"),
		SubUID:          at("etc/subuid"),
		SubGID:          at("etc/subgid"),
		Keyrings:        at("usr/share/keyrings"),
		RunUser:         at("run/user"),
		OSRelease:       at("etc/os-release"),
		AptDir:          at("etc/apt"),
		ListsDir:        at("var/lib/apt/lists"),
		StoreDir:        at("var/lib/pkgbox"),
		DevTun:          at("dev/net/tun"),
		LookPath:        func(p string) (string, error) { return "", errors.New("not found") },
		Stat:            os.Stat,
		FileCaps:        func(string) bool { return false },
		Writable:        func(string) bool { return true },
		Statfs:          func(string) (uint64, int64, error) { return 100 << 30, 0xef53, nil },
		HTTP:            http.DefaultClient,
	}
}

func TestSysctlChecks(t *testing.T) {
	tests := []struct {
		name  string
		check func(*Env) Check
		files map[string]string
		ok    bool
		fix   string // a part of the fix
	}{
		{"userns allowed", checkUserNS, map[string]string{"proc/sys/user/max_user_namespaces": "15000\n"}, true, ""},
		{"userns disabled", checkUserNS, map[string]string{"proc/sys/user/max_user_namespaces": "0\n"}, false, "user.max_user_namespaces = 15000"},
		{"userns absent", checkUserNS, nil, false, "apt-get install linux-image"},
		{"clone absent", checkUsernsClone, nil, true, ""},
		{"clone off", checkUsernsClone, map[string]string{"proc/sys/kernel/unprivileged_userns_clone": "0\n"}, false, "kernel.unprivileged_userns_clone = 1"},
		{"clone on", checkUsernsClone, map[string]string{"proc/sys/kernel/unprivileged_userns_clone": "1\n"}, true, ""},
		{"apparmor absent", checkAppArmorUserNS, nil, true, ""},
		{"apparmor restricts", checkAppArmorUserNS, map[string]string{"proc/sys/kernel/apparmor_restrict_unprivileged_userns": "1\n"}, false, "kernel.apparmor_restrict_unprivileged_userns = 0"},
		{"apparmor open", checkAppArmorUserNS, map[string]string{"proc/sys/kernel/apparmor_restrict_unprivileged_userns": "0\n"}, true, ""},
		{"kernel 5.10", checkKernel, map[string]string{"proc/sys/kernel/osrelease": "5.10.0-28-amd64\n"}, false, "linux-image-"},
		{"kernel 5.11", checkKernel, map[string]string{"proc/sys/kernel/osrelease": "5.11.0\n"}, true, ""},
		{"kernel 6.1", checkKernel, map[string]string{"proc/sys/kernel/osrelease": "6.1.0-18-amd64\n"}, true, ""},
		{"kernel 4.19", checkKernel, map[string]string{"proc/sys/kernel/osrelease": "4.19.0-26-amd64\n"}, false, "reboot"},
		{"kernel garbage", checkKernel, map[string]string{"proc/sys/kernel/osrelease": "vmlinuz\n"}, false, ""},
		{"overlay", checkOverlay, map[string]string{"proc/filesystems": "nodev\tsysfs\n\text4\nnodev\toverlay\n"}, true, ""},
		{"no overlay", checkOverlay, map[string]string{"proc/filesystems": "nodev\tsysfs\n\text4\n"}, false, "modprobe overlay"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.check(fakeEnv(t, tt.files))
			assertCheck(t, c, tt.ok, false, tt.fix)
		})
	}
}

// assertCheck checks c's outcome, and that a check that is not ok says
// what to do (fix, a part of its Fix, when given).
func assertCheck(t *testing.T, c Check, ok, warning bool, fix string) {
	t.Helper()
	if c.OK != ok || c.Warning != warning {
		t.Fatalf("%s: ok %v warning %v, want %v %v (%s)", c.Name, c.OK, c.Warning, ok, warning, c.Detail)
	}
	if c.Detail == "" || strings.Contains(c.Detail, "\n") {
		t.Errorf("%s: detail %q, want one line", c.Name, c.Detail)
	}
	if ok && c.Fix != "" {
		t.Errorf("%s: ok with a fix %q", c.Name, c.Fix)
	}
	if !strings.Contains(c.Fix, fix) {
		t.Errorf("%s: fix %q, want it to hold %q", c.Name, c.Fix, fix)
	}
}

func TestSubIDs(t *testing.T) {
	tests := []struct {
		name, subuid string
		ok           bool
	}{
		{"by name", "bob:100000:65536\nalice:165536:65536\n", true},
		{"by uid", "1000:165536:65536\n", true},
		{"two ranges", "alice:100000:30000\nalice:200000:35536\n", true},
		{"too few", "alice:100000:1000\n", false},
		{"someone else's", "bob:100000:65536\n", false},
		{"malformed", "alice:100000\nalice:x:y\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := fakeEnv(t, map[string]string{"etc/subuid": tt.subuid})
			fix := ""
			if !tt.ok {
				fix = "sudo usermod --add-subuids 100000-165535 alice"
			}
			assertCheck(t, checkSubIDs(env, "subuid", env.SubUID), tt.ok, false, fix)
		})
	}
	t.Run("no file", func(t *testing.T) {
		env := fakeEnv(t, nil)
		assertCheck(t, checkSubIDs(env, "subgid", env.SubGID), false, false, "--add-subgids 100000-165535 alice")
	})
}

// fakeFile is a FileInfo of a file with mode and, when uid >= 0, an owner.
type fakeFile struct {
	mode fs.FileMode
	uid  int
}

func (f fakeFile) Name() string       { return "f" }
func (f fakeFile) Size() int64        { return 0 }
func (f fakeFile) Mode() fs.FileMode  { return f.mode }
func (f fakeFile) ModTime() time.Time { return time.Time{} }
func (f fakeFile) IsDir() bool        { return f.mode.IsDir() }
func (f fakeFile) Sys() any {
	if f.uid < 0 {
		return nil
	}
	return &syscall.Stat_t{Uid: uint32(f.uid)}
}

func TestIDMap(t *testing.T) {
	tests := []struct {
		name  string
		found bool
		file  fakeFile
		caps  bool
		ok    bool
		fix   string
	}{
		{"missing", false, fakeFile{}, false, false, "sudo apt-get install uidmap"},
		{"setuid root", true, fakeFile{mode: 0o755 | fs.ModeSetuid, uid: 0}, false, true, ""},
		{"not setuid", true, fakeFile{mode: 0o755, uid: 0}, false, false, "sudo chmod u+s /usr/bin/newuidmap"},
		{"setuid, not root's", true, fakeFile{mode: 0o755 | fs.ModeSetuid, uid: 1000}, false, false, "sudo chown root:root /usr/bin/newuidmap"},
		{"file capabilities", true, fakeFile{mode: 0o755, uid: 0}, true, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := fakeEnv(t, nil)
			env.LookPath = func(p string) (string, error) {
				if !tt.found {
					return "", errors.New("not found")
				}
				return "/usr/bin/" + p, nil
			}
			env.Stat = func(string) (fs.FileInfo, error) { return tt.file, nil }
			env.FileCaps = func(string) bool { return tt.caps }
			assertCheck(t, checkIDMap(env, "newuidmap"), tt.ok, false, tt.fix)
		})
	}
	// A real file without the setuid bit, as a test can make one.
	t.Run("real file", func(t *testing.T) {
		env := fakeEnv(t, map[string]string{"bin/newgidmap": "#!/bin/sh\n"})
		path := filepath.Join(filepath.Dir(env.SubUID), "..", "bin", "newgidmap")
		env.LookPath = func(string) (string, error) { return path, nil }
		assertCheck(t, checkIDMap(env, "newgidmap"), false, false, "chmod u+s")
	})
}

func TestTools(t *testing.T) {
	env := fakeEnv(t, map[string]string{"usr/share/keyrings/debian-archive-keyring.gpg": "k"})
	assertCheck(t, checkDebootstrap(env), false, false, "sudo apt-get install debootstrap")
	assertCheck(t, checkPasta(env), false, false, "sudo apt-get install passt")
	assertCheck(t, checkKeyring(env), true, false, "")
	// Only archived suites need the removed keys: a warning.
	assertCheck(t, checkRemovedKeys(env), false, true, "sudo apt-get install debian-archive-keyring")

	env = fakeEnv(t, map[string]string{"usr/share/keyrings/debian-archive-removed-keys.gpg": "k"})
	env.LookPath = func(p string) (string, error) { return "/usr/bin/" + p, nil }
	assertCheck(t, checkDebootstrap(env), true, false, "")
	assertCheck(t, checkPasta(env), true, false, "")
	// An ordinary user's PATH has no /usr/sbin, where debootstrap is.
	env.LookPath = func(p string) (string, error) {
		if p == "/usr/sbin/debootstrap" {
			return p, nil
		}
		return "", errors.New("not found")
	}
	assertCheck(t, checkDebootstrap(env), true, false, "")
	assertCheck(t, checkKeyring(env), false, false, "sudo apt-get install debian-archive-keyring")
	assertCheck(t, checkRemovedKeys(env), true, false, "")
}

const (
	v1Mountinfo = `30 25 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw
35 30 0:31 / /sys/fs/cgroup/pids rw,nosuid - cgroup cgroup rw,pids
36 30 0:32 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory
37 30 0:33 / /sys/fs/cgroup/devices rw,nosuid - cgroup cgroup rw,devices
`
	v1Cgroup = "8:pids:/\n5:devices:/\n4:memory:/some/slice\n0::/\n"
)

func TestCgroups(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		writable bool
		ok       bool
	}{
		{"v2", map[string]string{"sys/fs/cgroup/cgroup.controllers": "cpu io memory pids\n"}, true, true},
		{"v2 read-only", map[string]string{"sys/fs/cgroup/cgroup.controllers": "cpu io memory pids\n"}, false, false},
		{"v2 without memory", map[string]string{"sys/fs/cgroup/cgroup.controllers": "cpu io pids\n"}, true, false},
		{"v1", map[string]string{"proc/self/mountinfo": v1Mountinfo, "proc/self/cgroup": v1Cgroup}, true, true},
		{"v1 without devices", map[string]string{"proc/self/mountinfo": strings.Replace(v1Mountinfo, "rw,devices", "rw,cpu", 1), "proc/self/cgroup": v1Cgroup}, true, true},
		{"v1 read-only", map[string]string{"proc/self/mountinfo": v1Mountinfo, "proc/self/cgroup": v1Cgroup}, false, false},
		{"v1 without pids", map[string]string{"proc/self/mountinfo": strings.Replace(v1Mountinfo, "rw,pids", "rw,cpu", 1), "proc/self/cgroup": v1Cgroup}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := fakeEnv(t, tt.files)
			var asked []string
			env.Writable = func(p string) bool { asked = append(asked, p); return tt.writable }
			c := checkCgroups(env)
			// Only limits need cgroups: never a failure.
			fix := ""
			if !tt.ok {
				fix = "--memory 0 --pids 0"
			}
			assertCheck(t, c, tt.ok, !tt.ok, fix)
			if strings.HasPrefix(tt.name, "v1 with") != strings.Contains(c.Detail, "no writable devices") && tt.ok {
				t.Errorf("detail %q", c.Detail)
			}
			if tt.name == "v1" && (len(asked) < 2 || asked[1] != "/sys/fs/cgroup/memory/some/slice") {
				t.Errorf("asked whether %q are writable, want pkgbox's own cgroups", asked)
			}
		})
	}
}

func TestCgroupDelegation(t *testing.T) {
	v2 := map[string]string{
		"sys/fs/cgroup/cgroup.controllers": "cpu io memory pids\n",
		"proc/self/cgroup":                 "0::/user.slice/user-1000.slice/user@1000.service/app.slice\n",
	}
	delegated := map[string]string{"run/user/1000/systemd/x": "",
		"sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/cgroup.controllers": "memory pids\n"}
	undelegated := map[string]string{"run/user/1000/systemd/x": "",
		"sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/cgroup.controllers": "cpu\n"}
	join := func(a, b map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range a {
			m[k] = v
		}
		for k, v := range b {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name  string
		files map[string]string
		ok    bool
		fix   string
	}{
		{"v1", map[string]string{"proc/self/cgroup": v1Cgroup}, false, "systemd.unified_cgroup_hierarchy=1"},
		{"no user session", v2, false, "loginctl enable-linger alice"},
		{"delegated", join(v2, delegated), true, ""},
		{"not delegated", join(v2, undelegated), false, "Delegate=pids memory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertCheck(t, checkCgroupDelegation(fakeEnv(t, tt.files)), tt.ok, !tt.ok, tt.fix)
		})
	}
}

func TestStore(t *testing.T) {
	tests := []struct {
		name     string
		stat     func(string) (fs.FileInfo, error) // nil: the real one
		writable bool
		fstype   int64
		ok       bool
		fix      string
	}{
		{"made on first use", nil, true, 0xef53, true, ""},
		{"cannot be made", nil, false, 0xef53, false, "--store DIR"},
		{"on overlayfs", nil, true, 0x794c7630, false, "--store DIR"},
		{"ours", fakeStat(fakeFile{mode: fs.ModeDir | 0o755, uid: 1000}), true, 0xef53, true, ""},
		{"root's", fakeStat(fakeFile{mode: fs.ModeDir | 0o755, uid: 0}), true, 0xef53, false, "sudo pkgbox"},
		{"another user's", fakeStat(fakeFile{mode: fs.ModeDir | 0o755, uid: 1001}), true, 0xef53, false, "sudo chown 1000 "},
		{"group-writable", fakeStat(fakeFile{mode: fs.ModeDir | 0o775, uid: 1000}), true, 0xef53, false, "sudo chmod go-w "},
		{"a file", fakeStat(fakeFile{mode: 0o644, uid: 1000}), true, 0xef53, false, "--store DIR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := fakeEnv(t, nil)
			if tt.stat != nil {
				env.Stat = tt.stat
			}
			env.Writable = func(string) bool { return tt.writable }
			env.Statfs = func(string) (uint64, int64, error) { return 100 << 30, tt.fstype, nil }
			assertCheck(t, checkStore(env), tt.ok, false, tt.fix)
		})
	}
}

func fakeStat(fi fs.FileInfo) func(string) (fs.FileInfo, error) {
	return func(string) (fs.FileInfo, error) { return fi, nil }
}

func TestSpace(t *testing.T) {
	tests := []struct {
		free        uint64
		ok, warning bool
	}{
		{500 << 20, false, false},
		{2 << 30, false, true},
		{10 << 30, true, false},
	}
	for _, tt := range tests {
		env := fakeEnv(t, map[string]string{"var/lib/keep": ""})
		var asked string
		env.Statfs = func(p string) (uint64, int64, error) { asked = p; return tt.free, 0xef53, nil }
		fix := ""
		if !tt.ok {
			fix = "pkgbox gc"
		}
		assertCheck(t, checkSpace(env), tt.ok, tt.warning, fix)
		// The store does not exist yet: its nearest parent that does.
		if asked != filepath.Dir(env.StoreDir) {
			t.Errorf("statfs of %s, want the store's nearest existing parent", asked)
		}
	}
}

func TestMirror(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead && r.URL.Path == "/debian/dists/bookworm/Release" {
			w.WriteHeader(http.StatusOK)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	tests := []struct {
		name, osRelease, sources string
		ok, warning              bool
		fix                      string
	}{
		{"reachable", "VERSION_CODENAME=bookworm\n", "deb " + srv.URL + "/debian bookworm main\n", true, false, ""},
		{"no Release", "VERSION_CODENAME=bookworm\n", "deb " + srv.URL + "/other bookworm main\n", false, false, "pkgbox create bookworm --mirror URL"},
		{"no sources", "VERSION_CODENAME=bookworm\n", "", false, true, "pkgbox create bookworm --mirror URL"},
		{"ftp", "VERSION_CODENAME=bookworm\n", "deb ftp://mirror.invalid/debian bookworm main\n", true, false, ""},
		{"file", "VERSION_CODENAME=bookworm\n", "deb file:///nonexistent/debian bookworm main\n", false, false, "--mirror URL"},
		{"not Debian", "VERSION_CODENAME=noble\n", "deb " + srv.URL + "/debian bookworm main\n", false, true, "pkgbox create SUITE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := fakeEnv(t, map[string]string{"etc/os-release": tt.osRelease, "etc/apt/sources.list": tt.sources})
			env.HTTP = srv.Client()
			c := checkMirror(context.Background(), env)
			assertCheck(t, c, tt.ok, tt.warning, tt.fix)
			if tt.name == "reachable" && !strings.Contains(c.Detail, srv.URL+"/debian/dists/bookworm/Release") {
				t.Errorf("detail %q does not name the Release file", c.Detail)
			}
		})
	}
	t.Run("server down", func(t *testing.T) {
		down := httptest.NewServer(http.NotFoundHandler())
		url := down.URL
		down.Close()
		env := fakeEnv(t, map[string]string{"etc/os-release": "VERSION_CODENAME=bookworm\n", "etc/apt/sources.list": "deb " + url + " bookworm main\n"})
		assertCheck(t, checkMirror(context.Background(), env), false, false, "--mirror URL")
	})
}

func TestRunModes(t *testing.T) {
	names := func(checks []Check) string {
		var n []string
		for _, c := range checks {
			n = append(n, c.Name+"/"+string(c.Mode))
		}
		return strings.Join(n, " ")
	}
	env := fakeEnv(t, map[string]string{"etc/os-release": "VERSION_CODENAME=bookworm\n"})
	env.EUID = 0
	root := Run(context.Background(), env)
	if got := names(root); strings.Contains(got, "subuid") || !strings.Contains(got, "cgroups/root") || !strings.HasPrefix(got, "mode/both") {
		t.Errorf("root mode checks: %s", got)
	}
	if !root[0].OK {
		t.Errorf("root mode: %+v", root[0])
	}

	env.EUID = 1000
	rootless := Run(context.Background(), env)
	got := names(rootless)
	for _, want := range []string{"userns/rootless", "userns-clone/rootless", "apparmor-userns/rootless", "kernel/rootless",
		"subuid/rootless", "subgid/rootless", "newuidmap/rootless", "newgidmap/rootless", "cgroup-delegation/rootless", "mirror/both"} {
		if !strings.Contains(got, want) {
			t.Errorf("rootless checks %s: no %s", got, want)
		}
	}
	if m := rootless[0]; !m.OK || !strings.Contains(m.Detail, "rootless mode (running as alice)") {
		t.Errorf("rootless mode line: %+v", m)
	}
	if !strings.Contains(got, "tun/rootless") || strings.Contains(names(root), "tun/") {
		t.Errorf("the tun check is rootless only: %s / %s", got, names(root))
	}
}

func TestTun(t *testing.T) {
	env := fakeEnv(t, nil)
	env.Writable = func(p string) bool { return p != env.DevTun }
	assertCheck(t, checkTun(env), false, true, "sudo chmod 0666 "+env.DevTun)
	env.Writable = func(string) bool { return true }
	assertCheck(t, checkTun(env), true, false, "")
}

func TestFailed(t *testing.T) {
	if Failed([]Check{{OK: true}, {Warning: true}}) {
		t.Error("a warning fails")
	}
	if !Failed([]Check{{OK: true}, {}}) {
		t.Error("a failure does not fail")
	}
}
