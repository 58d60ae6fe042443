package sandbox

import (
	"context"
	"errors"
)

// InitArg is argv[1] of the re-executed binary that becomes the sandbox's init.
const InitArg = "__pkgbox-init"

// Run starts the sandbox described by spec, waits for its payload and
// returns how it ended. SIGINT, SIGTERM, SIGHUP and SIGQUIT that reach pkgbox
// while the payload runs are forwarded to it. When ctx is cancelled the
// payload gets SIGTERM, and the whole sandbox SIGKILL a few seconds later.
// An error means the sandbox could not be set up; the payload's own failure
// is a Result with a non-zero ExitCode.
func Run(ctx context.Context, spec *Spec, stdio Stdio) (*Result, error) {
	return nil, errors.New("not yet")
}

// MaybeInit becomes the sandbox's init, and never returns, when this process
// was started as one (os.Args[1] == InitArg). Call it first thing in main
// and in TestMain of test packages that start sandboxes.
func MaybeInit() {}
