package profiles

import (
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"pkgbox/sandbox"
)

// badLines are malformed profiles, each with the exact error it must give.
// FuzzParse uses them as seeds too.
var badLines = []struct {
	name, in, want string
}{
	{"nul", "/a /b none bind\x00", `t.fstab:1: line contains a NUL byte; is this a text file?`},
	{"nul in comment", "# a\x00", `t.fstab:1: line contains a NUL byte; is this a text file?`},
	{"long line", "#" + strings.Repeat("x", 4096), `t.fstab:1: line is longer than 4096 bytes`},
	{"long line at end", "\n\n#" + strings.Repeat("x", 5000) + "\n", `t.fstab:3: line is longer than 4096 bytes`},
	{"long field", "/" + strings.Repeat("a", 1024) + " /b none bind", `t.fstab:1: field 1 is longer than 1024 bytes`},
	{"three fields", "# comment\n\n/a /b none", `t.fstab:3: 3 fields, want at least 4: SOURCE TARGET TYPE OPTIONS [DUMP [PASS]]`},
	{"one field", "/a", `t.fstab:1: 1 field, want at least 4: SOURCE TARGET TYPE OPTIONS [DUMP [PASS]]`},
	{"seven fields", `/my dir /b none bind 0 0`, `t.fstab:1: 7 fields, want at most 6: SOURCE TARGET TYPE OPTIONS [DUMP [PASS]]; write a space in a path as \040`},
	{"trailing comment", "/a /b none bind 0 0 # home", `t.fstab:1: 8 fields, want at most 6: SOURCE TARGET TYPE OPTIONS [DUMP [PASS]]; a comment must be on a line of its own`},
	{"bad dump", "/a /b none bind x", `t.fstab:1: dump field "x" is not a small number; use 0`},
	{"negative pass", "/a /b none bind 0 -1", `t.fstab:1: pass field "-1" is not a small number; use 0`},
	{"big pass", "/a /b none bind 0 256", `t.fstab:1: pass field "256" is not a small number; use 0`},
	{"relative target", "/a b none bind", `t.fstab:1: target "b" is not an absolute path; a target is a path inside the sandbox, such as /build`},
	{"dotdot target", "/a /b/../../etc none bind", `t.fstab:1: target "/b/../../etc" has a ".." component; name the directory without it`},
	{"dotdot escaped", `/a /b/\056\056/c none bind`, `t.fstab:1: target "/b/../c" has a ".." component; name the directory without it`},
	{"root target", "tmpfs / tmpfs defaults", `t.fstab:1: target "/" is the sandbox's root; mount on a directory below it`},
	{"root target dot", "tmpfs /./ tmpfs defaults", `t.fstab:1: target "/./" is the sandbox's root; mount on a directory below it`},
	{"relative source", "srv /b none bind", `t.fstab:1: bind source "srv" is not an absolute path; a bind source is a host directory or file, such as /srv/data`},
	{"short escape", `/a\04 /b none bind`, `t.fstab:1: bad escape "\\04" in source "/a\\04"; write a space as \040, a tab as \011, a backslash as \134`},
	{"non-octal escape", `/a /b\x41c none bind`, `t.fstab:1: bad escape "\\x41" in target "/b\\x41c"; write a space as \040, a tab as \011, a backslash as \134`},
	{"escape over 0377", `/a\400 /b none bind`, `t.fstab:1: bad escape "\\400" in source "/a\\400"; write a space as \040, a tab as \011, a backslash as \134`},
	{"escaped nul", `/a\000 /b none bind`, `t.fstab:1: source "/a\\000" contains a NUL byte`},
	{"unknown type", "/dev/sda1 /b ext4 defaults", `t.fstab:1: unknown type "ext4"; a profile mounts devpts, mqueue, proc, sysfs, tmpfs, or binds with type none and option bind`},
	{"type by prefix", "tmpfs /b tmpfs2 defaults", `t.fstab:1: unknown type "tmpfs2"; a profile mounts devpts, mqueue, proc, sysfs, tmpfs, or binds with type none and option bind`},
	{"none without bind", "/a /b none rw", `t.fstab:1: type none needs the option bind or rbind`},
	{"bind on tmpfs", "tmpfs /b tmpfs bind", `t.fstab:1: option "bind" needs type none, not "tmpfs": a tmpfs is mounted, not bound`},
	{"unknown option", "/a /b none bind,nosiud", `t.fstab:1: unknown option "nosiud"; a bind takes mount options only, such as ro, nosuid, nodev`},
	{"option by prefix", "/a /b none bind,nosuidx", `t.fstab:1: unknown option "nosuidx"; a bind takes mount options only, such as ro, nosuid, nodev`},
	{"ro by prefix", "/a /b none bind,ro2", `t.fstab:1: unknown option "ro2"; a bind takes mount options only, such as ro, nosuid, nodev`},
	{"bind by prefix", "/a /b none bindx", `t.fstab:1: type none needs the option bind or rbind`},
	{"upper case", "/a /b none bind,RO", `t.fstab:1: unknown option "RO"; a bind takes mount options only, such as ro, nosuid, nodev`},
	{"data on bind", "/a /b none bind,mode=1777", `t.fstab:1: unknown option "mode=1777"; a bind takes mount options only, such as ro, nosuid, nodev`},
	{"pkgbox typo", "/a /b none bind,x-pkgbox.netwrok", `t.fstab:1: unknown pkgbox option "x-pkgbox.netwrok"; the one pkgbox knows is x-pkgbox.network`},
	{"ro rw", "/a /b none ro,bind,rw", `t.fstab:1: options "ro" and "rw" contradict each other; keep one`},
	{"bind rbind", "/a /b none rbind,bind", `t.fstab:1: options "rbind" and "bind" contradict each other; keep one`},
	{"suid nosuid", "/a /b none bind,suid,nosuid", `t.fstab:1: options "suid" and "nosuid" contradict each other; keep one`},
	{"noatime relatime", "tmpfs /b tmpfs noatime,relatime", `t.fstab:1: options "noatime" and "relatime" contradict each other; keep one`},
	{"auto noauto", "tmpfs /b tmpfs noauto,auto", `t.fstab:1: options "noauto" and "auto" contradict each other; keep one`},
	{"tmpfs unknown", "tmpfs /b tmpfs sise=1g", `t.fstab:1: unknown option "sise=1g"; tmpfs takes mount options and gid, huge, inode32, inode64, mode, noswap, nr_blocks, nr_inodes, size, uid`},
	{"mqueue data", "mqueue /b mqueue mode=1777", `t.fstab:1: unknown option "mode=1777"; mqueue takes mount options only, such as ro, nosuid, nodev`},
	{"sysfs data", "sysfs /sys sysfs size=1", `t.fstab:1: unknown option "size=1"; sysfs takes mount options only, such as ro, nosuid, nodev`},
	{"bad mode", "tmpfs /b tmpfs mode=1799", `t.fstab:1: option "mode=1799": not an octal mode; write one such as 1777 or 0755`},
	{"long mode", "tmpfs /b tmpfs mode=17777", `t.fstab:1: option "mode=17777": not an octal mode; write one such as 1777 or 0755`},
	{"bad size", "tmpfs /b tmpfs size=10x", `t.fstab:1: option "size=10x": not a size; write a number with an optional k, m, g or % suffix, such as 512m or 50%`},
	{"size g%", "tmpfs /b tmpfs size=10g%", `t.fstab:1: option "size=10g%": not a size; write a number with an optional k, m, g or % suffix, such as 512m or 50%`},
	{"empty size", "tmpfs /b tmpfs size=", `t.fstab:1: option "size=": not a size; write a number with an optional k, m, g or % suffix, such as 512m or 50%`},
	{"size without value", "tmpfs /b tmpfs size", `t.fstab:1: option "size" needs a value, such as size=50%`},
	{"bad nr_inodes", "tmpfs /b tmpfs nr_inodes=1%", `t.fstab:1: option "nr_inodes=1%": not a count; write a number with an optional k, m or g suffix, such as 1m`},
	{"uid name", "tmpfs /b tmpfs uid=bob", `t.fstab:1: option "uid=bob": not a numeric id; write the number, pkgbox does not look names up`},
	{"gid negative", "tmpfs /b tmpfs gid=-1", `t.fstab:1: option "gid=-1": not a numeric id; write the number, pkgbox does not look names up`},
	{"huge", "tmpfs /b tmpfs huge=sometimes", `t.fstab:1: option "huge=sometimes": want one of never, always, within_size, advise`},
	{"bare with value", "tmpfs /b tmpfs inode64=1", `t.fstab:1: option "inode64=1" takes no value; write inode64`},
	{"mode twice", "tmpfs /b tmpfs mode=1777,mode=0700", `t.fstab:1: options "mode=1777" and "mode=0700" contradict each other; keep one`},
	{"tmpfs on proc", "tmpfs /proc tmpfs defaults", `t.fstab:1: cannot mount on "/proc": the sandbox makes its own /proc; choose another target`},
	{"bind below proc", "/srv /proc/sys/kernel none bind", `t.fstab:1: cannot mount on "/proc/sys/kernel": the sandbox makes its own /proc; choose another target`},
	{"bind on dev", "/srv/dev /dev/ none rbind", `t.fstab:1: cannot mount on "/dev": the sandbox makes its own /dev; choose another target`},
	{"tmpfs on pts", "tmpfs /dev/pts tmpfs defaults", `t.fstab:1: cannot mount on "/dev/pts": the sandbox makes its own /dev/pts; choose another target`},
	{"host sys on proc", "/sys /proc none bind", `t.fstab:1: cannot mount on "/proc": the sandbox makes its own /proc; choose another target`},
	{"error after good lines", "tmpfs /tmp tmpfs defaults\n/proc /proc none bind\n\n/a /b none bind,rw,ro\n", `t.fstab:4: options "rw" and "ro" contradict each other; keep one`},
	{"noauto still checked", "/a /b none bind,noauto,nosiud", `t.fstab:1: unknown option "nosiud"; a bind takes mount options only, such as ro, nosuid, nodev`},
}

func TestParseErrors(t *testing.T) {
	for _, tt := range badLines {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("t.fstab", strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("Parse(%q) = %d entries, want error %q", tt.in, len(p.Entries), tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("Parse(%q) error\n got: %s\nwant: %s", tt.in, err, tt.want)
			}
		})
	}
}

func TestParseReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("tmpfs /tmp tmpfs defaults\n"), iotest.ErrReader(boom))
	_, err := Parse("t.fstab", r)
	if !errors.Is(err, boom) || err.Error() != "t.fstab:2: read: boom" {
		t.Errorf("Parse = %v, want t.fstab:2: read: boom, wrapping the reader's error", err)
	}
}

func TestParseLimits(t *testing.T) {
	// The longest line and field allowed load.
	line := "/" + strings.Repeat("a", 1023) + " /b none bind"
	line += strings.Repeat(" ", 4096-len(line))
	in := "#" + strings.Repeat("x", 4095) + "\n" + line + "\r\n"
	p, err := Parse("t.fstab", strings.NewReader(in))
	if err != nil {
		t.Fatalf("Parse of a 4096-byte line and a 1024-byte field: %v", err)
	}
	if len(p.Entries) != 1 || p.Text != in {
		t.Errorf("Parse = %d entries, text kept %v; want 1 entry and the text", len(p.Entries), p.Text == in)
	}
	// A file of many short lines stops at the size limit, with a line number.
	big := strings.Repeat("# a comment line of forty bytes or so.\n", 30000)
	if _, err := Parse("t.fstab", strings.NewReader(big)); err == nil || !strings.HasPrefix(err.Error(), "t.fstab:26887: the file is larger than 1 MiB") {
		t.Errorf("Parse of a 1.2 MB file: %v, want the size limit's error", err)
	}
}

const ns = sandbox.NoSuid | sandbox.NoDev

// TestParseLines pins what each kind of good line becomes.
func TestParseLines(t *testing.T) {
	tests := []struct {
		name, in string
		want     Entry
	}{
		{"bind", "/srv/data /data none bind 0 0",
			Entry{Mount: sandbox.Mount{Type: "bind", Source: "/srv/data", Target: "/data", Flags: ns}}},
		{"bind type", "/srv/data/ /data/./x// bind defaults",
			Entry{Mount: sandbox.Mount{Type: "bind", Source: "/srv/data", Target: "/data/x", Flags: ns}}},
		{"rbind ro", "/srv /srv none rbind,ro",
			Entry{Mount: sandbox.Mount{Type: "bind", Source: "/srv", Target: "/srv", Recursive: true, Flags: ns | sandbox.ReadOnly}}},
		{"suid dev", "/srv /srv none bind,suid,dev,noexec",
			Entry{Mount: sandbox.Mount{Type: "bind", Source: "/srv", Target: "/srv", Flags: sandbox.NoExec}}},
		{"escapes", `/srv/my\040data\011x\134 /my\040data none bind`,
			Entry{Mount: sandbox.Mount{Type: "bind", Source: "/srv/my data\tx\\", Target: "/my data", Flags: ns}}},
		{"network", "/etc/resolv.conf /etc/resolv.conf none bind,ro,x-pkgbox.network,x-systemd.foo=bar",
			Entry{Network: true, Mount: sandbox.Mount{Type: "bind", Source: "/etc/resolv.conf", Target: "/etc/resolv.conf", Flags: ns | sandbox.ReadOnly}}},
		{"noauto", "/a /b none bind,noauto",
			Entry{NoAuto: true, Mount: sandbox.Mount{Type: "bind", Source: "/a", Target: "/b", Flags: ns}}},
		{"tmpfs", "tmpfs /tmp tmpfs mode=1777,nosuid,,nodev,size=10%,mode=1777,uid=0",
			Entry{Mount: sandbox.Mount{Type: "tmpfs", Source: "tmpfs", Target: "/tmp", Flags: ns, Data: []string{"mode=1777", "size=10%", "uid=0"}}}},
		{"tmpfs defaults", "none /run tmpfs defaults",
			Entry{Mount: sandbox.Mount{Type: "tmpfs", Source: "none", Target: "/run"}}},
		{"proc elsewhere", "proc /mnt/proc proc hidepid=2,exec",
			Entry{Mount: sandbox.Mount{Type: "proc", Source: "proc", Target: "/mnt/proc", Flags: ns, Data: []string{"hidepid=2"}}}},
		{"devpts elsewhere", "devpts /mnt/pts devpts newinstance",
			Entry{Mount: sandbox.Mount{Type: "devpts", Source: "devpts", Target: "/mnt/pts", Flags: sandbox.NoSuid | sandbox.NoExec, Data: []string{"newinstance"}}}},
		{"mqueue", "mqueue /dev/mqueue mqueue defaults",
			Entry{Mount: sandbox.Mount{Type: "mqueue", Source: "mqueue", Target: "/dev/mqueue", Flags: ns | sandbox.NoExec}}},
		{"sysfs forced", "sysfs /mnt/sys sysfs suid,noatime",
			Entry{Mount: sandbox.Mount{Type: "sysfs", Source: "sysfs", Target: "/mnt/sys", Flags: sysfsFlags}}},
		{"host sys", "/sys/ /sys none rbind",
			Entry{Mount: sandbox.Mount{Type: "sysfs", Source: "sysfs", Target: "/sys", Flags: sysfsFlags}}},
		{"dev shm tmpfs", "tmpfs /dev/shm tmpfs defaults",
			Entry{Mount: sandbox.Mount{Type: "tmpfs", Source: "tmpfs", Target: "/dev/shm"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("t.fstab", strings.NewReader("# c\n"+tt.in))
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Mount.Origin = "t.fstab:2"
			if len(p.Entries) != 1 || !reflect.DeepEqual(p.Entries[0], tt.want) {
				t.Errorf("Parse(%q) =\n %+v\nwant\n %+v", tt.in, p.Entries, tt.want)
			}
			if len(p.Warnings) != 0 {
				t.Errorf("warnings: %q", p.Warnings)
			}
		})
	}
}

// TestParseSandboxOwn: lines for what the sandbox makes itself are dropped,
// each with one warning, or (/sys) made the sandbox's read-only sysfs.
func TestParseSandboxOwn(t *testing.T) {
	in := `/proc /proc none rw,bind
proc /proc proc defaults
/dev /dev none rbind
/dev/pts /dev/pts bind defaults
devpts /dev/pts devpts gid=5,mode=620
/dev/shm /dev/shm none bind
/proc/ /mnt/hostproc none bind,noauto
sysfs /sys sysfs rw
/sys /sys none ro,bind
`
	p, err := Parse("t.fstab", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"t.fstab:1: the sandbox has its own /proc; not binding the host's (that would show the host's processes)",
		"t.fstab:2: the sandbox has its own /proc; not mounting another",
		"t.fstab:3: the sandbox has its own /dev; not binding the host's (that would give it the host's devices)",
		"t.fstab:4: the sandbox has its own /dev/pts; not binding the host's (that would give it the host's terminals)",
		"t.fstab:5: the sandbox has its own /dev/pts; not mounting another",
		"t.fstab:6: the sandbox has its own /dev/shm; not binding the host's (that would share the host's shared memory)",
		"t.fstab:7: the sandbox has its own /proc; not binding the host's (that would show the host's processes)",
		"t.fstab:8: the sandbox mounts its own sysfs on \"/sys\", read-only; ignoring rw",
	}
	if !reflect.DeepEqual(p.Warnings, want) {
		t.Errorf("warnings:\n got %q\nwant %q", p.Warnings, want)
	}
	wantMounts := []sandbox.Mount{
		{Type: "sysfs", Source: "sysfs", Target: "/sys", Flags: sysfsFlags, Origin: "t.fstab:8"},
		{Type: "sysfs", Source: "sysfs", Target: "/sys", Flags: sysfsFlags, Origin: "t.fstab:9"},
	}
	if got := p.Mounts(true); !reflect.DeepEqual(got, wantMounts) {
		t.Errorf("mounts:\n got %+v\nwant %+v", got, wantMounts)
	}
}

func TestParseSchrootDefault(t *testing.T) {
	p, err := LoadFile("../testdata/profiles/schroot-default.fstab")
	if err != nil {
		t.Fatal(err)
	}
	const f = "../testdata/profiles/schroot-default.fstab"
	// Three lines replaced by the sandbox's own, and /sys, asked rw, made
	// read-only: each says so.
	wantWarn := []string{
		f + ":6: the sandbox has its own /proc; not binding the host's (that would show the host's processes)",
		f + ":7: the sandbox mounts its own sysfs on \"/sys\", read-only; ignoring rw",
		f + ":8: the sandbox has its own /dev; not binding the host's (that would give it the host's devices)",
		f + ":9: the sandbox has its own /dev/pts; not binding the host's (that would give it the host's terminals)",
	}
	if !reflect.DeepEqual(p.Warnings, wantWarn) {
		t.Errorf("warnings:\n got %q\nwant %q", p.Warnings, wantWarn)
	}
	want := []sandbox.Mount{
		{Type: "sysfs", Source: "sysfs", Target: "/sys", Flags: sandbox.ReadOnly | ns | sandbox.NoExec, Origin: f + ":7"},
		{Type: "bind", Source: "/home", Target: "/home", Flags: ns, Origin: f + ":10"},
		{Type: "bind", Source: "/tmp", Target: "/tmp", Flags: ns, Origin: f + ":11"},
	}
	for _, network := range []bool{false, true} {
		if got := p.Mounts(network); !reflect.DeepEqual(got, want) {
			t.Errorf("Mounts(%v):\n got %+v\nwant %+v", network, got, want)
		}
	}
}

// TestParseFixtures: every fstab in testdata/profiles loads, and what it
// yields passes the sandbox's own check.
func TestParseFixtures(t *testing.T) {
	tests := []struct {
		file    string
		mounts  int // with the network on
		warning int
	}{
		{"schroot-buildd.fstab", 1, 2},
		{"schroot-sbuild.fstab", 3, 3},
		{"jchroot.fstab", 4, 1},
		{"all-options.fstab", 11, 0},
	}
	for _, tt := range tests {
		p, err := LoadFile("../testdata/profiles/" + tt.file)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		ms := p.Mounts(true)
		if len(ms) != tt.mounts || len(p.Warnings) != tt.warning {
			t.Errorf("%s: %d mounts, warnings %q; want %d mounts, %d warnings", tt.file, len(ms), p.Warnings, tt.mounts, tt.warning)
		}
		for _, m := range ms {
			if err := m.Validate(); err != nil {
				t.Errorf("%s: %v", tt.file, err)
			}
		}
	}
}

func TestMountsNetworkAndCopy(t *testing.T) {
	p, err := LoadFile("../testdata/profiles/all-options.fstab")
	if err != nil {
		t.Fatal(err)
	}
	on, off := p.Mounts(true), p.Mounts(false)
	if len(on)-len(off) != 2 {
		t.Errorf("Mounts(true) has %d, Mounts(false) %d; want the 2 x-pkgbox.network entries more", len(on), len(off))
	}
	for _, m := range append(on, off...) {
		if m.Target == "/srv/old" {
			t.Errorf("noauto entry %s mounted", m.Origin)
		}
	}
	on[0].Data[0] = "changed"
	if p.Entries[0].Mount.Data[0] == "changed" {
		t.Error("Mounts shares Data with the profile")
	}
}
