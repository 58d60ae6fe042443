package sandbox_test

import (
	"context"
	"errors"
	"syscall"
	"testing"

	"pkgbox/sandbox"
)

// A mount that fails in the init reaches the parent as a SetupError that
// names the step and its target and unwraps to the errno, so that hints
// keyed on errno fire (STYLE.md review: typed errors across the pipe).
func TestSetupErrorCarriesErrno(t *testing.T) {
	spec, _ := session(t, "/bin/true")
	spec.Mounts = []sandbox.Mount{{Type: sandbox.TypeBind, Source: "/nonexistent-pkgbox-source", Target: "/mnt/x", Origin: "test.fstab:3"}}
	_, err := sandbox.Run(context.Background(), spec, sandbox.Stdio{})
	se, ok := errors.AsType[*sandbox.SetupError](err)
	if !ok {
		t.Fatalf("got %v (%T), want a *sandbox.SetupError", err, err)
	}
	if se.Op != "mount bind" || se.Target != "/mnt/x" {
		t.Errorf("op %q target %q, want \"mount bind\" \"/mnt/x\"", se.Op, se.Target)
	}
	if !errors.Is(err, syscall.ENOENT) {
		t.Errorf("%v does not unwrap to ENOENT (errno %d)", err, se.Errno)
	}
	want := `mount bind on "/mnt/x" (test.fstab:3): bind source: stat /nonexistent-pkgbox-source: no such file or directory`
	if err.Error() != want {
		t.Errorf("message %q, want %q", err.Error(), want)
	}
}
