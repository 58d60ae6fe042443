package profiles

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"pkgbox/config"
	"pkgbox/sandbox"
)

// dirs points the search at two fresh directories, user's and system's, and
// returns them.
func dirs(t *testing.T) (user, system string) {
	t.Helper()
	config := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", config)
	old := SystemDir
	SystemDir = t.TempDir()
	t.Cleanup(func() { SystemDir = old })
	user = filepath.Join(config, "pkgbox", "profiles")
	if err := os.MkdirAll(user, 0o755); err != nil {
		t.Fatal(err)
	}
	return user, SystemDir
}

func write(t *testing.T, name, text string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBuiltins(t *testing.T) {
	dirs(t)
	if got, want := builtinNames(), []string{"buildd", "default", "minimal"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("built-ins %q, want %q", got, want)
	}
	tmp := sandbox.Mount{Type: "tmpfs", Source: "tmpfs", Target: "/tmp", Flags: ns, Data: []string{"mode=1777"}}
	resolv := sandbox.Mount{Type: "bind", Source: "/etc/resolv.conf", Target: "/etc/resolv.conf", Flags: ns | sandbox.ReadOnly}
	home := sandbox.Mount{Type: "bind", Source: "/home", Target: "/home", Recursive: true, Flags: ns}
	tests := []struct {
		name    string
		off, on []sandbox.Mount // without and with the network
	}{
		{"minimal", nil, nil},
		{"buildd", []sandbox.Mount{tmp}, []sandbox.Mount{tmp, resolv}},
		{"default", []sandbox.Mount{tmp, home}, []sandbox.Mount{tmp, home, resolv}},
	}
	for _, tt := range tests {
		p, err := Find(tt.name)
		if err != nil {
			t.Fatalf("built-in %s: %v", tt.name, err)
		}
		if p.Name != tt.name || p.Path != "builtin:"+tt.name || len(p.Warnings) != 0 || !strings.HasPrefix(p.Text, "# "+tt.name+": ") {
			t.Errorf("Find(%q) = name %q, path %q, warnings %q, text starting %.20q", tt.name, p.Name, p.Path, p.Warnings, p.Text)
		}
		for _, network := range []bool{false, true} {
			want := tt.off
			if network {
				want = tt.on
			}
			got := p.Mounts(network)
			for i := range got {
				got[i].Origin = "" // pinned by the parser's tests
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s, network %v:\n got %+v\nwant %+v", tt.name, network, got, want)
			}
		}
	}
}

func TestFindOrder(t *testing.T) {
	user, system := dirs(t)
	const one = "tmpfs /one tmpfs defaults\n"
	const two = "tmpfs /two tmpfs defaults\n"

	p, err := Find("default")
	if err != nil || p.Path != "builtin:default" {
		t.Fatalf("Find(default) with no files = %v, %v; want the built-in", p, err)
	}
	write(t, filepath.Join(system, "default.fstab"), one)
	if p, err = Find("default"); err != nil || p.Path != filepath.Join(system, "default.fstab") || p.Entries[0].Mount.Target != "/one" {
		t.Fatalf("Find(default) = %+v, %v; want the system's", p, err)
	}
	write(t, filepath.Join(user, "default.fstab"), two)
	if p, err = Find("default"); err != nil || p.Path != filepath.Join(user, "default.fstab") || p.Entries[0].Mount.Target != "/two" {
		t.Fatalf("Find(default) = %+v, %v; want the user's", p, err)
	}
	if p.Name != "default" || p.Entries[0].Mount.Origin != filepath.Join(user, "default.fstab")+":1" {
		t.Errorf("name %q, origin %q", p.Name, p.Entries[0].Mount.Origin)
	}
	write(t, filepath.Join(system, "site.fstab"), one)
	write(t, filepath.Join(system, "bad name.fstab"), one) // Find cannot reach it: not listed
	write(t, filepath.Join(system, "notes.txt"), "")
	if err := os.Mkdir(filepath.Join(user, "dir.fstab"), 0o755); err != nil {
		t.Fatal(err)
	}

	got, err := List()
	if err != nil {
		t.Fatal(err)
	}
	want := []Info{
		{"buildd", "builtin:buildd", false},
		{"default", filepath.Join(user, "default.fstab"), false},
		{"default", filepath.Join(system, "default.fstab"), true},
		{"default", "builtin:default", true},
		{"minimal", "builtin:minimal", false},
		{"site", filepath.Join(system, "site.fstab"), false},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("List() =\n %+v\nwant\n %+v", got, want)
	}
}

// A user's profile that does not parse is an error, never a silent fall back
// to the system's or the built-in profile of the same name.
func TestFindBroken(t *testing.T) {
	user, _ := dirs(t)
	f := filepath.Join(user, "buildd.fstab")
	write(t, f, "# mine\ntmpfs /tmp tmpfs sise=1g\n")
	_, err := Find("buildd")
	if err == nil || !strings.HasPrefix(err.Error(), f+":2: unknown option \"sise=1g\"") {
		t.Errorf("Find(buildd) = %v, want the user file's error", err)
	}
	if err := os.Remove(f); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(f, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Find("buildd"); err == nil || err.Error() != `load profile "`+f+`": is a directory, not an fstab file` {
		t.Errorf("Find(buildd) on a directory = %v", err)
	}
}

func TestFindUnknown(t *testing.T) {
	user, system := dirs(t)
	write(t, filepath.Join(system, "site.fstab"), "")
	write(t, filepath.Join(user, "mine.fstab"), "")
	_, err := Find("foo")
	var ue *UnknownError
	if !errors.As(err, &ue) {
		t.Fatalf("Find(foo) = %v, want an *UnknownError", err)
	}
	if want := `unknown profile "foo" (known: buildd, default, mine, minimal, site)`; err.Error() != want {
		t.Errorf("error\n got %s\nwant %s", err, want)
	}
	if want := "see them with `pkgbox profiles list`; to add one, write foo.fstab in " + user + " or " + system; ue.Hint() != want {
		t.Errorf("hint\n got %s\nwant %s", ue.Hint(), want)
	}
}

func TestFindBadName(t *testing.T) {
	user, _ := dirs(t)
	write(t, filepath.Join(user, "..fstab"), "") // reachable only by a name that is refused
	for _, name := range []string{"", ".", "..", ".hidden", "../etc/x", "a/b", "a b", "é", strings.Repeat("a", 65)} {
		_, err := Find(name)
		if err == nil || !strings.HasPrefix(err.Error(), "bad profile name ") {
			t.Errorf("Find(%q) = %v, want a bad name error", name, err)
		}
	}
	for _, name := range []string{"a", "A-b_c.d", strings.Repeat("a", 64)} {
		if err := CheckName(name); err != nil {
			t.Errorf("CheckName(%q) = %v", name, err)
		}
	}
}

func TestDirs(t *testing.T) {
	t.Setenv("SUDO_USER", "")
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("HOME", "/home/u")
	if got, want := Dirs(), []string{"/home/u/.config/pkgbox/profiles", SystemDir}; !reflect.DeepEqual(got, want) {
		t.Errorf("Dirs() = %q, want %q", got, want)
	}
	t.Setenv("XDG_CONFIG_HOME", "/cfg")
	if got, want := Dirs(), []string{"/cfg/pkgbox/profiles", SystemDir}; !reflect.DeepEqual(got, want) {
		t.Errorf("Dirs() = %q, want %q", got, want)
	}
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("HOME", "")
	if got, want := Dirs(), []string{SystemDir}; !reflect.DeepEqual(got, want) {
		t.Errorf("Dirs() with no HOME = %q, want %q", got, want)
	}
}

func TestLoadFileMissing(t *testing.T) {
	_, err := LoadFile("/nonexistent/x.fstab")
	if !errors.Is(err, os.ErrNotExist) || err.Error() != "load profile: open /nonexistent/x.fstab: no such file or directory" {
		t.Errorf("LoadFile = %v", err)
	}
}

// fakeHomes makes config.LookupHome answer from homes, so that no test depends on
// a real user of the machine.
func fakeHomes(t *testing.T, homes map[string]string) {
	t.Helper()
	old := config.LookupHome
	config.LookupHome = func(name string) (string, error) {
		if h, ok := homes[name]; ok {
			return h, nil
		}
		return "", errors.New("user: unknown user " + name)
	}
	t.Cleanup(func() { config.LookupHome = old })
}

// Under sudo, HOME is root's: the user's profiles are in SUDO_USER's home.
func TestDirsUnderSudo(t *testing.T) {
	home := t.TempDir()
	rootHome := t.TempDir()
	fakeHomes(t, map[string]string{"alice": home, "root": rootHome})
	old := SystemDir
	SystemDir = t.TempDir()
	t.Cleanup(func() { SystemDir = old })
	t.Setenv("HOME", rootHome)
	t.Setenv("XDG_CONFIG_HOME", "")
	t.Setenv("SUDO_USER", "alice")

	mine := filepath.Join(home, ".config", "pkgbox", "profiles")
	if got, want := Dirs(), []string{mine, SystemDir}; !reflect.DeepEqual(got, want) {
		t.Errorf("Dirs() under sudo = %q, want %q", got, want)
	}
	if err := os.MkdirAll(mine, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(mine, "alices.fstab"), "/srv /srv none bind,ro\n")
	p, err := Find("alices")
	if err != nil || p.Path != filepath.Join(mine, "alices.fstab") {
		t.Fatalf("Find(alices) under sudo = %+v, %v", p, err)
	}

	for _, tt := range []struct {
		name, sudoUser, xdg, want string
	}{
		// XDG_CONFIG_HOME passed through sudo (sudo -E, or a script) says it all.
		{"XDG_CONFIG_HOME wins", "alice", "/cfg", "/cfg/pkgbox/profiles"},
		// sudo -s from root, or sudo by root: root's own.
		{"root", "root", "", filepath.Join(rootHome, ".config", "pkgbox", "profiles")},
		// A user the lookup does not know: HOME, as without sudo.
		{"unknown user", "ghost", "", filepath.Join(rootHome, ".config", "pkgbox", "profiles")},
	} {
		t.Setenv("SUDO_USER", tt.sudoUser)
		t.Setenv("XDG_CONFIG_HOME", tt.xdg)
		if got := Dirs(); len(got) != 2 || got[0] != tt.want {
			t.Errorf("%s: Dirs() = %q, want %q first", tt.name, got, tt.want)
		}
	}
}
