package profiles

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"pkgbox/sandbox"
)

// optKind says what a mount option does to an entry.
type optKind int

const (
	optNothing optKind = iota // accepted so that existing fstabs load; means nothing in a sandbox
	optSet                    // sets flag
	optClear                  // clears flag, a default one too (suid and dev on a bind)
	optBind
	optRBind
	optNoAuto
)

// mountOptions is the table of mount options. It is looked up by exact name,
// never by prefix: "nosuidx" or "ro2" are errors, not "nosuid" and "ro"
// (prefix matching of option names is how mount helpers have misread options).
var mountOptions = map[string]struct {
	kind optKind
	flag sandbox.MountFlags
}{
	"defaults":    {optNothing, 0},
	"rw":          {optClear, sandbox.ReadOnly},
	"ro":          {optSet, sandbox.ReadOnly},
	"bind":        {optBind, 0},
	"rbind":       {optRBind, 0},
	"nosuid":      {optSet, sandbox.NoSuid},
	"suid":        {optClear, sandbox.NoSuid},
	"nodev":       {optSet, sandbox.NoDev},
	"dev":         {optClear, sandbox.NoDev},
	"noexec":      {optSet, sandbox.NoExec},
	"exec":        {optClear, sandbox.NoExec},
	"noatime":     {optSet, sandbox.NoAtime},
	"atime":       {optClear, sandbox.NoAtime},
	"relatime":    {optSet, sandbox.RelAtime},
	"norelatime":  {optClear, sandbox.RelAtime},
	"strictatime": {optSet, sandbox.StrictAtime},
	"nodiratime":  {optSet, sandbox.NoDiratime},
	"diratime":    {optClear, sandbox.NoDiratime},
	"nosymfollow": {optSet, sandbox.NoSymfollow},
	// For mount -a and users' mounts on a host; a sandbox mounts every
	// entry itself, so only noauto means something (skip the entry).
	"auto":   {optNothing, 0},
	"noauto": {optNoAuto, 0},
	"user":   {optNothing, 0},
	"nouser": {optNothing, 0},
	"nofail": {optNothing, 0},
}

// conflicts are the pairs of options that contradict each other on one line.
// mount(8) lets the last one win; in a file read rarely and trusted for
// isolation, a contradiction is more likely a mistake than a wish.
var conflicts = [][2]string{
	{"ro", "rw"}, {"bind", "rbind"}, {"nosuid", "suid"}, {"nodev", "dev"},
	{"noexec", "exec"}, {"noatime", "atime"}, {"relatime", "norelatime"},
	{"noatime", "relatime"}, {"noatime", "strictatime"}, {"relatime", "strictatime"},
	{"nodiratime", "diratime"}, {"auto", "noauto"}, {"user", "nouser"},
}

// NetworkOption marks an entry wanted only when the sandbox has the network,
// such as the host's /etc/resolv.conf. It is a userspace option ("x-"), so
// that mount(8) and findmnt(8) accept a pkgbox profile too.
const NetworkOption = "x-pkgbox.network"

// fsType is a filesystem a profile may mount.
type fsType struct {
	// flags are the defaults, before the line's options. The pseudo
	// filesystems hold no programs and (but devpts) no devices.
	flags sandbox.MountFlags
	// data are the filesystem's own options, handed to it in Mount.Data.
	data map[string]dataOption
}

// dataOption is one filesystem option. A nil check means a bare flag
// ("inode64"); otherwise the option is key=value and check validates value.
type dataOption struct {
	check   func(string) error
	example string
}

// fsTypes is the exact-match table of the filesystems a profile may mount.
// Disk filesystems are left out: a profile names what a sandbox needs, and a
// device mounted by a throw-away sandbox is a device mounted twice.
var fsTypes = map[string]fsType{
	"tmpfs": {data: map[string]dataOption{
		"mode":      {octalMode, "mode=1777"},
		"size":      {size, "size=50%"},
		"nr_inodes": {count, "nr_inodes=1m"},
		"nr_blocks": {count, "nr_blocks=1m"},
		"uid":       {id, "uid=0"},
		"gid":       {id, "gid=0"},
		"huge":      {oneOf("never", "always", "within_size", "advise"), "huge=within_size"},
		"inode32":   {}, "inode64": {}, "noswap": {},
	}},
	"proc": {flags: sandbox.NoSuid | sandbox.NoDev | sandbox.NoExec, data: map[string]dataOption{
		"hidepid": {oneOf("0", "1", "2", "4", "off", "noaccess", "invisible", "ptraceable"), "hidepid=invisible"},
		"subset":  {oneOf("pid"), "subset=pid"},
		"gid":     {id, "gid=0"},
	}},
	"sysfs": {flags: sysfsFlags},
	"devpts": {flags: sandbox.NoSuid | sandbox.NoExec, data: map[string]dataOption{
		"mode":        {octalMode, "mode=620"},
		"ptmxmode":    {octalMode, "ptmxmode=666"},
		"uid":         {id, "uid=0"},
		"gid":         {id, "gid=5"},
		"max":         {number, "max=1024"},
		"newinstance": {},
	}},
	"mqueue": {flags: sandbox.NoSuid | sandbox.NoDev | sandbox.NoExec},
}

// bindFlags are a bind's defaults (a design rule): a host directory brought
// into the sandbox must not bring set-uid programs or device nodes with it.
// suid and dev on the line clear them.
const bindFlags = sandbox.NoSuid | sandbox.NoDev

// newEntry builds the entry of one line from its (unescaped) source, its
// cleaned target, its type and its options. It also reports whether the line
// said rw explicitly. Errors carry no position; the caller adds it.
func newEntry(source, target, typ, options string) (e Entry, rw bool, err error) {
	fs, isFS := fsTypes[typ]
	bindType := typ == "none" || typ == sandbox.TypeBind
	if !isFS && !bindType {
		return e, false, fmt.Errorf("unknown type %q; a profile mounts %s, or binds with type none and option bind",
			typ, strings.Join(slices.Sorted(maps.Keys(fsTypes)), ", "))
	}
	var (
		set, clear sandbox.MountFlags
		bindOpt    string   // "bind" or "rbind", as given
		data       []string // the filesystem's own options, checked below
		seen       = map[string]bool{}
	)
	for _, o := range strings.Split(options, ",") {
		switch {
		case o == "":
			continue // "rw,,bind": harmless, and mount(8) takes it
		case o == NetworkOption:
			e.Network = true
			continue
		case strings.HasPrefix(o, "x-pkgbox"):
			return e, false, fmt.Errorf("unknown pkgbox option %q; the one pkgbox knows is %s", o, NetworkOption)
		case strings.HasPrefix(o, "x-"):
			continue // userspace options (x-systemd.*, x-gvfs-show) are for other programs
		}
		mo, ok := mountOptions[o]
		if !ok {
			data = append(data, o)
			continue
		}
		for _, c := range conflicts {
			other := ""
			switch o {
			case c[0]:
				other = c[1]
			case c[1]:
				other = c[0]
			}
			if seen[other] {
				return e, false, fmt.Errorf("options %q and %q contradict each other; keep one", other, o)
			}
		}
		seen[o] = true
		switch mo.kind {
		case optSet:
			set |= mo.flag
		case optClear:
			clear |= mo.flag
		case optBind, optRBind:
			bindOpt = o
		case optNoAuto:
			e.NoAuto = true
		}
	}
	rw = seen["rw"]
	switch {
	case bindOpt != "" && !bindType:
		return e, false, fmt.Errorf("option %q needs type none, not %q: a %s is mounted, not bound", bindOpt, typ, typ)
	case typ == "none" && bindOpt == "":
		return e, false, errors.New("type none needs the option bind or rbind")
	case bindType:
		if len(data) > 0 {
			return e, false, fmt.Errorf("unknown option %q; a bind takes mount options only, such as ro, nosuid, nodev", data[0])
		}
		if !path.IsAbs(source) {
			return e, false, fmt.Errorf("bind source %q is not an absolute path; a bind source is a host directory or file, such as /srv/data", source)
		}
		e.Mount = sandbox.Mount{Type: sandbox.TypeBind, Source: path.Clean(source), Target: target,
			Recursive: bindOpt == "rbind", Flags: bindFlags&^clear | set}
		return e, rw, nil
	}
	if data, err = checkData(typ, fs, data); err != nil {
		return e, false, err
	}
	e.Mount = sandbox.Mount{Type: typ, Source: source, Target: target, Flags: fs.flags&^clear | set, Data: data}
	return e, rw, nil
}

// checkData validates a filesystem's own options and returns them without
// repeats. A key given twice with two values is an error, as for mount options.
func checkData(typ string, fs fsType, data []string) ([]string, error) {
	var out []string
	seen := map[string]string{}
	for _, o := range data {
		key, val, hasVal := strings.Cut(o, "=")
		d, ok := fs.data[key]
		switch {
		case !ok && len(fs.data) == 0:
			return nil, fmt.Errorf("unknown option %q; %s takes mount options only, such as ro, nosuid, nodev", o, typ)
		case !ok:
			return nil, fmt.Errorf("unknown option %q; %s takes mount options and %s",
				o, typ, strings.Join(slices.Sorted(maps.Keys(fs.data)), ", "))
		case d.check == nil && hasVal:
			return nil, fmt.Errorf("option %q takes no value; write %s", o, key)
		case d.check != nil && !hasVal:
			return nil, fmt.Errorf("option %q needs a value, such as %s", o, d.example)
		case d.check != nil:
			if err := d.check(val); err != nil {
				return nil, fmt.Errorf("option %q: %w", o, err)
			}
		}
		if prev, ok := seen[key]; ok {
			if prev != o {
				return nil, fmt.Errorf("options %q and %q contradict each other; keep one", prev, o)
			}
			continue
		}
		seen[key] = o
		out = append(out, o)
	}
	return out, nil
}

// The value checkers say what a good value looks like: the kernel's own
// error for a bad one is a bare EINVAL from inside the sandbox.

func octalMode(v string) error {
	if v == "" || len(v) > 4 || strings.Trim(v, "01234567") != "" {
		return errors.New("not an octal mode; write one such as 1777 or 0755")
	}
	return nil
}

func number(v string) error {
	if _, err := strconv.ParseUint(v, 10, 64); err != nil {
		return errors.New("not a number")
	}
	return nil
}

func id(v string) error {
	if _, err := strconv.ParseUint(v, 10, 32); err != nil {
		return errors.New("not a numeric id; write the number, pkgbox does not look names up")
	}
	return nil
}

// count is a number with an optional k, m or g suffix (tmpfs's nr_inodes).
func count(v string) error {
	if v != "" && strings.IndexByte("kKmMgG", v[len(v)-1]) >= 0 {
		v = v[:len(v)-1]
	}
	if number(v) != nil {
		return errors.New("not a count; write a number with an optional k, m or g suffix, such as 1m")
	}
	return nil
}

// size is a count of bytes or a percentage of memory (tmpfs's size).
func size(v string) error {
	n, pct := strings.CutSuffix(v, "%")
	if pct && number(n) != nil || !pct && count(n) != nil {
		return errors.New("not a size; write a number with an optional k, m, g or % suffix, such as 512m or 50%")
	}
	return nil
}

func oneOf(values ...string) func(string) error {
	return func(v string) error {
		if !slices.Contains(values, v) {
			return fmt.Errorf("want one of %s", strings.Join(values, ", "))
		}
		return nil
	}
}
