package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"pkgbox/bootstrap"
	"pkgbox/sandbox"
	"pkgbox/store"
)

// Exit codes, documented in the README.
const (
	ExitOK          = 0
	ExitError       = 1
	ExitUsage       = 2
	ExitBuildFailed = 3
	ExitCheckFailed = 4 // built, but a check after the build failed (--lintian-fail-on, --autopkgtest-fail)
	ExitInterrupted = 130
)

// exitError carries an exit status through Cobra without a message: the
// payload of `pkgbox run` already said what it had to say.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// usageError marks bad flags or arguments (exit 2).
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// hinter is implemented by errors that know what the user should do next.
type hinter interface{ Hint() string }

// Main runs pkgbox with os.Args and returns the process's exit code.
func Main() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if os.Geteuid() != 0 {
		// Rootless mode: the store holds files of the user's
		// subordinate ids, which only a user namespace's root removes.
		store.RemoveForeign = removeForeign
	}
	root := NewRootCommand()
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	err := root.ExecuteContext(ctx)
	return report(os.Stderr, err, ctx.Err() != nil)
}

// removeForeign removes a tree of the store from inside a user namespace
// with the user's maps.
func removeForeign(path string) error {
	uidMap, gidMap, err := sandbox.RootlessMaps()
	if err != nil {
		return err
	}
	return sandbox.RemoveTree(path, uidMap, gidMap)
}

// report prints err (if any) as one line, plus a hint line where there is
// advice, and picks the exit code.
func report(w io.Writer, err error, interrupted bool) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintf(w, "pkgbox: %s\n", strings.TrimSpace(err.Error()))
	if h := withDoctor(hintFor(err), err); h != "" {
		fmt.Fprintf(w, "hint: %s\n", h)
	}
	var ue *usageError
	switch {
	case errors.As(err, &ue) || isCobraUsage(err):
		return ExitUsage
	case interrupted || errors.Is(err, context.Canceled):
		return ExitInterrupted
	}
	return ExitError
}

// hintFor turns well-known failures into advice.
func hintFor(err error) string {
	var h hinter
	if errors.As(err, &h) {
		return h.Hint()
	}
	switch {
	case errors.Is(err, store.ErrNoRoot):
		return "see the roots with `pkgbox list`, make one with `pkgbox create SUITE`"
	case errors.Is(err, store.ErrBusy):
		return "wait for the other pkgbox to finish, or see what holds it with `pkgbox list`"
	case errors.Is(err, unix.EPERM) && os.Geteuid() != 0:
		return "as an ordinary user pkgbox runs in rootless mode, which could not do this here: run it with sudo"
	case errors.Is(err, unix.ENOSPC):
		return "the file system holding the store is full: free space or point --store elsewhere"
	}
	return ""
}

// doctorAdvice ends the hint of an error that says pkgbox cannot work on
// this machine as it is: `pkgbox doctor` checks everything else a first use
// needs, so that the user does not mend one thing at a time.
const doctorAdvice = "run `pkgbox doctor`"

// withDoctor adds doctorAdvice to hint h when err is such a "cannot" error:
// not root, a store of root's, no debootstrap, keyring or pasta, no cgroup.
// The hint stays one line.
func withDoctor(h string, err error) string {
	if !cannot(err) {
		return h
	}
	if h == "" {
		return doctorAdvice
	}
	return h + "; to check what else this machine needs, " + doctorAdvice
}

// cannot tells the errors that doctor has a check for.
func cannot(err error) bool {
	var (
		needRoot *sandbox.NeedRootError
		subID    *sandbox.SubIDError
		userNS   *sandbox.UserNSError
		pasta    *sandbox.PastaMissingError
		cgroup   *sandbox.CgroupError
		noDeboot *bootstrap.NoDebootstrapError
		keyring  *bootstrap.KeyringError
		owner    *store.OwnerError
	)
	switch {
	case errors.As(err, &needRoot), errors.As(err, &pasta), errors.As(err, &cgroup),
		errors.As(err, &noDeboot), errors.As(err, &subID), errors.As(err, &userNS):
		return true
	case errors.As(err, &keyring):
		// The machine's keyring, not a --keyring the user mistyped.
		return keyring.Path == bootstrap.RemovedKeysKeyring
	case errors.As(err, &owner):
		return owner.UID == 0 && os.Geteuid() != 0
	}
	return errors.Is(err, unix.EPERM) && os.Geteuid() != 0
}

// isCobraUsage recognises Cobra's own argument errors, which are plain errors.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "requires at least", "requires at most", "unknown flag", "unknown shorthand"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// warn prints a warning on stderr.
func warn(msg string) { fmt.Fprintf(os.Stderr, "pkgbox: warning: %s\n", msg) }
