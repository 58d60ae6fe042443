package sandbox

import (
	"errors"
	"fmt"
	"syscall"
)

// SetupError is a failure to build the sandbox (a mount, the root, the
// payload's start), as reported by the init. The init sends what it was
// doing, on what, and the errno of the system call that failed, not only
// a message (runc's mountError does the same), so that errors.Is(err,
// syscall.ENOSPC) and the like work in the parent and its hints fire.
type SetupError struct {
	// Msg is the init's whole message.
	Msg string
	// Op and Target say which mount failed ("mount overlay", "mount
	// bind" and the target inside the root); empty for other steps.
	Op     string
	Target string
	// Errno is the failed system call's error number, or 0.
	Errno syscall.Errno
}

func (e *SetupError) Error() string { return e.Msg }

// Unwrap gives the errno, if there is one.
func (e *SetupError) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}

// MountError is a mount the init could not make. It travels to the parent
// as the Op and Target of a SetupError.
type MountError struct {
	Op     string // "mount TYPE"
	Target string
	Origin string // FILE:LINE of the profile entry, if any
	Err    error
}

func (e *MountError) Error() string {
	where := ""
	if e.Origin != "" {
		where = " (" + e.Origin + ")"
	}
	return fmt.Sprintf("%s on %q%s: %v", e.Op, e.Target, where, e.Err)
}

func (e *MountError) Unwrap() error { return e.Err }

// statusOf turns an error of the init into the message it sends.
func statusOf(err error) initStatus {
	st := initStatus{Error: err.Error()}
	if me, ok := errors.AsType[*MountError](err); ok {
		st.Op, st.Target = me.Op, me.Target
	}
	if errno, ok := errors.AsType[syscall.Errno](err); ok {
		st.Errno = int(errno)
	}
	return st
}

// setupError rebuilds the init's error in the parent.
func setupError(st initStatus) *SetupError {
	return &SetupError{Msg: st.Error, Op: st.Op, Target: st.Target, Errno: syscall.Errno(st.Errno)}
}
