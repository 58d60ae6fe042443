// Package config reads pkgbox's configuration files: TOML files whose keys
// are defaults for command-line flags, in a top-level part and one table per
// command ([build], [run], ...). It only parses: every key comes back with
// its value, its TOML type and the file:line it was written on, and the
// caller (cmd) decides which keys exist and validates each value through the
// flag it stands for, so that a file and a flag accept exactly the same.
//
// The TOML library is github.com/pelletier/go-toml/v2. Its decoder checks
// the whole document (syntax, duplicate keys, redefined tables) and reports
// a position; its parser (the unstable package, pinned by go.mod) gives the
// line of every key, which errors about a key's name or value need.
// BurntSushi/toml keeps key positions private (MetaData has no Position),
// so it could not say on which line an unknown key or a bad size is.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// SystemFile is the configuration every user gets. It is a variable so that
// tests can point it at a temporary file.
var SystemFile = "/etc/pkgbox/config.toml"

// Kind is the TOML type of a value, as errors name it.
type Kind string

// The kinds a setting can have.
const (
	String  Kind = "string"
	Integer Kind = "integer"
	Bool    Kind = "boolean"
	Float   Kind = "float"
	Array   Kind = "array of strings"
	Other   Kind = "other" // dates, tables, arrays of anything but strings
)

// Setting is one key of a file.
type Setting struct {
	// Table is the table the key is in, "" for the top level.
	Table string
	// Key is the key's name within its table.
	Key string
	// Kind is the value's TOML type.
	Kind Kind
	// Values is the value: one element for a scalar (integers and booleans
	// as TOML writes them, decimal), the elements of an array of strings.
	Values []string
	// File and Line say where the key is; TableLine where its table starts
	// (0 at the top level).
	File      string
	Line      int
	TableLine int
}

// Origin is "FILE:LINE".
func (s *Setting) Origin() string { return fmt.Sprintf("%s:%d", s.File, s.Line) }

// Name is the key as a user writes it on the command line of `config`:
// "build.jobs", or "store" at the top level.
func (s *Setting) Name() string {
	if s.Table == "" {
		return s.Key
	}
	return s.Table + "." + s.Key
}

// Error is a problem with one line of a file.
type Error struct {
	// File and Line say where.
	File string
	Line int
	// Err is what is wrong.
	Err error
}

// Error is "FILE:LINE: what is wrong".
func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err) }

// Unwrap returns what is wrong.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error about s's line.
func (s *Setting) Errorf(format string, a ...any) error {
	return &Error{File: s.File, Line: s.Line, Err: fmt.Errorf(format, a...)}
}

// Load reads the file name; a file that does not exist holds no settings.
func Load(name string) ([]Setting, error) {
	b, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(name, b)
}

// Parse reads the settings of a file called name holding data. Only tables
// of keys are allowed, one level deep: [build] jobs = 4, not [build.x] or
// build.jobs = 4 at the top level.
func Parse(name string, data []byte) ([]Setting, error) {
	var doc map[string]any
	if err := toml.Unmarshal(data, &doc); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, _ := de.Position()
			return nil, &Error{File: name, Line: row, Err: errors.New(strings.TrimPrefix(de.Error(), "toml: "))}
		}
		return nil, fmt.Errorf("read config %s: %w", name, err)
	}
	var (
		p        unstable.Parser
		settings []Setting
		table    string
		tline    int
	)
	p.Reset(data)
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			keys, line := keyOf(&p, e)
			if e.Kind == unstable.ArrayTable || len(keys) != 1 {
				return nil, &Error{File: name, Line: line, Err: fmt.Errorf("table [%s]: want one of the command tables, such as [build]", strings.Join(keys, "."))}
			}
			table, tline = keys[0], line
		case unstable.KeyValue:
			keys, line := keyOf(&p, e)
			s := Setting{Table: table, Key: strings.Join(keys, "."), File: name, Line: line, TableLine: tline}
			if len(keys) != 1 {
				return nil, s.Errorf("dotted key %q: write the key in its table, as [%s] then %s = ...", s.Key, keys[0], strings.Join(keys[1:], "."))
			}
			s.Kind, s.Values = valueOf(e.Value())
			settings = append(settings, s)
		}
	}
	if err := p.Error(); err != nil { // the decoder above saw it first
		return nil, fmt.Errorf("read config %s: %w", name, err)
	}
	return settings, nil
}

// keyOf returns the parts of an expression's key and the line it is on.
func keyOf(p *unstable.Parser, e *unstable.Node) ([]string, int) {
	var keys []string
	line := 0
	it := e.Key()
	for it.Next() {
		k := it.Node()
		if line == 0 && k.Raw.Length > 0 {
			line = p.Shape(k.Raw).Start.Line
		}
		keys = append(keys, string(k.Data))
	}
	if line == 0 && e.Raw.Length > 0 {
		line = p.Shape(e.Raw).Start.Line
	}
	return keys, line
}

// valueOf returns a value's kind and its text.
func valueOf(v *unstable.Node) (Kind, []string) {
	switch v.Kind {
	case unstable.String:
		return String, []string{string(v.Data)}
	case unstable.Bool:
		return Bool, []string{string(v.Data)}
	case unstable.Integer:
		// The decoder accepted it: strconv reads TOML's forms (1_000, 0x1f).
		n, err := strconv.ParseInt(string(v.Data), 0, 64)
		if err != nil {
			return Integer, []string{string(v.Data)}
		}
		return Integer, []string{strconv.FormatInt(n, 10)}
	case unstable.Float:
		return Float, []string{string(v.Data)}
	case unstable.Array:
		vals := []string{}
		it := v.Children()
		for it.Next() {
			c := it.Node()
			if c.Kind != unstable.String {
				return Other, nil
			}
			vals = append(vals, string(c.Data))
		}
		return Array, vals
	}
	return Other, nil
}

// UserFile returns the invoking user's configuration file,
// pkgbox/config.toml in UserConfigDir, or "" when there is no such directory.
func UserFile() string {
	if d := UserConfigDir(); d != "" {
		return filepath.Join(d, "pkgbox", "config.toml")
	}
	return ""
}

// UserConfigDir is the invoking user's configuration directory, or "":
// $XDG_CONFIG_HOME, else ~/.config. Under sudo, ~ is the home of SUDO_USER,
// the user who ran sudo: sudo sets HOME to root's, where that user's files
// are not.
func UserConfigDir() string {
	if c := os.Getenv("XDG_CONFIG_HOME"); c != "" {
		return c
	}
	if u := os.Getenv("SUDO_USER"); u != "" && u != "root" {
		if home, err := LookupHome(u); err == nil && home != "" {
			return filepath.Join(home, ".config")
		}
	}
	c, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return c
}

// LookupHome finds a user's home directory (in /etc/passwd, or through
// NSS); a variable so that tests do not depend on the machine's users.
var LookupHome = func(name string) (string, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return "", err
	}
	return u.HomeDir, nil
}
