package profiles

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"pkgbox/sandbox"
)

// Limits on input. An fstab is a handful of short lines; anything beyond these
// is a mistake (a binary file, a wrong path), and the limits keep a hostile
// file from making pkgbox hold it all in memory.
const (
	maxLine  = 4096
	maxField = 1024
	maxFile  = 1 << 20
)

// fieldsHelp names the fields of an fstab line, for error messages.
const fieldsHelp = "SOURCE TARGET TYPE OPTIONS [DUMP [PASS]]"

// pos is a place in a profile, printed FILE:LINE as compilers do, so that
// editors can jump to it.
type pos struct {
	file string
	line int
}

func (p pos) String() string { return fmt.Sprintf("%s:%d", p.file, p.line) }

// errorf returns "FILE:LINE: what is wrong".
func (p pos) errorf(format string, a ...any) error {
	return &lineError{pos: p, err: fmt.Errorf(format, a...)}
}

// warnf records a one-line warning "FILE:LINE: what pkgbox did instead".
func (p pos) warnf(prof *Profile, format string, a ...any) {
	prof.Warnings = append(prof.Warnings, p.String()+": "+fmt.Sprintf(format, a...))
}

// lineError is an error at one line of a profile. It wraps the cause so that
// read errors keep their identity for errors.Is.
type lineError struct {
	pos pos
	err error
}

func (e *lineError) Error() string { return e.pos.String() + ": " + e.err.Error() }
func (e *lineError) Unwrap() error { return e.err }

// Parse reads an fstab(5) from r. name is the file as the user named it (or
// "builtin:NAME"): every error is one line "name:LINE: what is wrong", every
// warning the same shape, every Mount's Origin "name:LINE". Parse stops at the
// first error.
func Parse(name string, r io.Reader) (*Profile, error) {
	p := &Profile{Name: strings.TrimSuffix(path.Base(name), ".fstab"), Path: name}
	// A buffer just longer than the longest line allowed and its "\r\n":
	// ReadSlice then reports ErrBufferFull for a longer line without ever
	// holding more of it.
	br := bufio.NewReaderSize(r, maxLine+2)
	var text strings.Builder
	for n := 1; ; n++ {
		at := pos{name, n}
		raw, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, at.errorf("line is longer than %d bytes", maxLine)
		}
		if err != nil && err != io.EOF {
			return nil, at.errorf("read: %w", err)
		}
		if text.Len()+len(raw) > maxFile {
			return nil, at.errorf("the file is larger than %d MiB; a profile is a short list of mounts", maxFile>>20)
		}
		text.Write(raw)
		if len(raw) > 0 {
			if perr := p.parseLine(at, string(raw)); perr != nil {
				return nil, perr
			}
		}
		if err == io.EOF {
			break
		}
	}
	p.Text = text.String()
	return p, nil
}

// parseLine parses one line and appends its entry, if any, to p.
func (p *Profile) parseLine(at pos, line string) error {
	line = strings.TrimSuffix(line, "\n")
	line = strings.TrimSuffix(line, "\r") // a file edited on Windows
	if len(line) > maxLine {
		return at.errorf("line is longer than %d bytes", maxLine)
	}
	if strings.IndexByte(line, 0) >= 0 {
		return at.errorf("line contains a NUL byte; is this a text file?")
	}
	fields := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' })
	// Only a line that starts with '#' is a comment, as for mount(8) and
	// schroot: a '#' later on is part of a field.
	if len(fields) == 0 || fields[0][0] == '#' {
		return nil
	}
	switch {
	case len(fields) < 4:
		return at.errorf("%d field%s, want at least 4: %s", len(fields), plural(len(fields)), fieldsHelp)
	case len(fields) > 6 && fields[6][0] == '#':
		return at.errorf("%d fields, want at most 6: %s; a comment must be on a line of its own", len(fields), fieldsHelp)
	case len(fields) > 6:
		return at.errorf("%d fields, want at most 6: %s; write a space in a path as \\040", len(fields), fieldsHelp)
	}
	for i, f := range fields {
		if len(f) > maxField {
			return at.errorf("field %d is longer than %d bytes", i+1, maxField)
		}
	}
	source, err := unescape("source", fields[0])
	if err != nil {
		return at.errorf("%w", err)
	}
	target, err := unescape("target", fields[1])
	if err != nil {
		return at.errorf("%w", err)
	}
	for i, what := range []string{"dump", "pass"} {
		// Both are for dump(8) and fsck(8); pkgbox checks and ignores them.
		if len(fields) > 4+i {
			if _, err := strconv.ParseUint(fields[4+i], 10, 8); err != nil {
				return at.errorf("%s field %q is not a small number; use 0", what, fields[4+i])
			}
		}
	}
	if target, err = checkTarget(target); err != nil {
		return at.errorf("%w", err)
	}
	e, rw, err := newEntry(source, target, fields[2], fields[3])
	if err != nil {
		return at.errorf("%w", err)
	}
	e.Mount.Origin = at.String()
	if !p.sandboxOwn(at, &e, rw) {
		return nil
	}
	if own := ownTarget(e.Mount.Target); own != "" {
		return at.errorf("cannot mount on %q: the sandbox makes its own %s; choose another target", e.Mount.Target, own)
	}
	// The last line of defence: nothing the init cannot take leaves here.
	if err := e.Mount.Validate(); err != nil {
		return err
	}
	p.Entries = append(p.Entries, e)
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// unescape decodes fstab's octal escapes (\040 for a space, \011 for a tab,
// \134 for a backslash). A backslash not followed by three octal digits is an
// error rather than kept as is, so that a mistyped escape cannot silently
// name another path.
func unescape(what, s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+3 >= len(s) || s[i+1] < '0' || s[i+1] > '3' || !isOctal(s[i+2]) || !isOctal(s[i+3]) {
			return "", fmt.Errorf("bad escape %q in %s %q; write a space as \\040, a tab as \\011, a backslash as \\134",
				s[i:min(i+4, len(s))], what, s)
		}
		b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
		i += 3
	}
	if strings.IndexByte(b.String(), 0) >= 0 {
		return "", fmt.Errorf("%s %q contains a NUL byte", what, s)
	}
	return b.String(), nil
}

func isOctal(c byte) bool { return '0' <= c && c <= '7' }

// checkTarget returns the cleaned target. The init resolves every target
// inside the root whatever it says; refusing ".." and "/" here is the first
// wall, and gives the user a line number instead of a surprise.
func checkTarget(t string) (string, error) {
	if !strings.HasPrefix(t, "/") {
		return "", fmt.Errorf("target %q is not an absolute path; a target is a path inside the sandbox, such as /build", t)
	}
	for _, c := range strings.Split(t, "/") {
		if c == ".." {
			return "", fmt.Errorf("target %q has a \"..\" component; name the directory without it", t)
		}
	}
	c := path.Clean(t)
	if c == "/" {
		return "", fmt.Errorf("target %q is the sandbox's root; mount on a directory below it", t)
	}
	return c, nil
}

// hostOwn are the host paths the sandbox replaces with its own: binding the
// host's would undo the isolation the namespaces give. fsType is the
// filesystem the sandbox mounts there itself, so that a line mounting one
// more is dropped too rather than shadowing the sandbox's own.
var hostOwn = []struct{ path, fsType, why string }{
	{"/proc", "proc", "that would show the host's processes"},
	{"/dev", "", "that would give it the host's devices"},
	{"/dev/pts", "devpts", "that would give it the host's terminals"},
	{"/dev/shm", "", "that would share the host's shared memory"},
}

// sysfsFlags are the sandbox's sysfs's, whatever the line says: most of sysfs
// is not namespaced, and a writable one would let root in the sandbox change
// the host's kernel settings.
const sysfsFlags = sandbox.ReadOnly | sandbox.NoSuid | sandbox.NoDev | sandbox.NoExec

// sandboxOwn applies the rules for what the sandbox makes itself: it drops an
// entry that would bind the host's /proc, /dev, /dev/pts or /dev/shm (or mount
// another proc or devpts over the sandbox's), and turns a bind of the host's
// /sys into a read-only sysfs. rw says whether the line asked for rw, which a
// sysfs does not get. It reports whether to keep the entry.
func (p *Profile) sandboxOwn(at pos, e *Entry, rw bool) bool {
	m := &e.Mount
	for _, h := range hostOwn {
		switch {
		case m.Type == sandbox.TypeBind && m.Source == h.path:
			at.warnf(p, "the sandbox has its own %s; not binding the host's (%s)", h.path, h.why)
			return false
		case m.Type == h.fsType && m.Target == h.path:
			at.warnf(p, "the sandbox has its own %s; not mounting another", h.path)
			return false
		}
	}
	if m.Type == sandbox.TypeBind && m.Source == "/sys" {
		*m = sandbox.Mount{Type: "sysfs", Source: "sysfs", Target: m.Target, Origin: m.Origin}
	}
	if m.Type == "sysfs" {
		m.Flags = sysfsFlags
		if rw {
			at.warnf(p, "the sandbox mounts its own sysfs on %q, read-only; ignoring rw", m.Target)
		}
	}
	return true
}

// ownTarget returns the sandbox's own mount that target is or lies in, or "".
// Mounting there would hide what the init made (and /proc is where a fake
// file can fool the runtime: runc CVE-2019-16884, CVE-2019-19921).
func ownTarget(target string) string {
	for _, own := range []string{"/proc", "/dev/pts"} {
		if target == own || strings.HasPrefix(target, own+"/") {
			return own
		}
	}
	if target == "/dev" {
		return "/dev" // below it, /dev/shm or a device bind is the user's call
	}
	return ""
}
