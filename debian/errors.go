package debian

import (
	"fmt"
	"strconv"
	"strings"
)

// FileError is a problem found in one file: a debian/control, a
// debian/changelog, a .dsc or a .changes. Its message is one line,
// "FILE:LINE: what is wrong", or "FILE: what is wrong" when no line applies
// (an empty file, an unreadable one).
type FileError struct {
	File string // the path as the caller gave it (joined with debian/... for a tree)
	Line int    // 1-based; 0 when the problem has no line
	Err  error
}

// Error returns "FILE:LINE: what is wrong", or "FILE: what is wrong".
func (e *FileError) Error() string {
	if e.Line > 0 {
		return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Err.Error()
	}
	return e.File + ": " + e.Err.Error()
}

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *FileError) Unwrap() error { return e.Err }

// libError carries an error from pault.ag/go/debian. Its messages are
// capitalised, sometimes quote raw input and can hold a newline; libError
// keeps the original for errors.Is/As but shows it on one line, lower-cased.
type libError struct{ err error }

func (e libError) Error() string {
	msg := e.err.Error()
	if strings.ContainsFunc(msg, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		msg = strconv.Quote(msg)
	} else if msg != "" {
		// The library's messages start with a capital ("Trailing garbage…",
		// "Oh no. …"); ours do not.
		msg = strings.ToLower(msg[:1]) + msg[1:]
	}
	return msg
}

func (e libError) Unwrap() error { return e.err }

// errAt builds a FileError at line n.
func errAt(file string, n int, format string, a ...any) error {
	return &FileError{File: file, Line: n, Err: fmt.Errorf(format, a...)}
}
