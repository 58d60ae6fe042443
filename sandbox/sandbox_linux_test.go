package sandbox_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"pkgbox/internal/testenv"
	"pkgbox/sandbox"
	"pkgbox/store"
)

func TestMain(m *testing.M) {
	sandbox.MaybeInit()
	os.Exit(m.Run())
}

// session makes an overlay session on the shared root and returns a spec
// for it; the session is removed when the test ends.
func session(t *testing.T, args ...string) (*sandbox.Spec, *store.Session) {
	t.Helper()
	s, root := testenv.SharedRoot(t)
	sess, err := s.NewSession("sandbox-test", root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sess.Remove(); err != nil {
			t.Error(err)
		}
	})
	return &sandbox.Spec{
		Root:     root,
		Overlay:  &sandbox.Overlay{Upper: sess.Upper, Work: sess.Work, Merged: sess.Merged},
		Hostname: "pkgbox-test",
		Env:      []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C.UTF-8"},
		Args:     args,
		Hold:     []*os.File{sess.LockFile()},
	}, sess
}

// run runs spec and returns its output and result.
func run(t *testing.T, spec *sandbox.Spec) (string, *sandbox.Result) {
	t.Helper()
	var out bytes.Buffer
	res, err := sandbox.Run(context.Background(), spec, sandbox.Stdio{Stdout: &out, Stderr: &out})
	if err != nil {
		t.Fatalf("run %q: %v\noutput: %s", spec.Args, err, out.String())
	}
	return out.String(), res
}

func TestRunBasics(t *testing.T) {
	spec, _ := session(t, "/bin/sh", "-c", "hostname; echo pid=$$; ls /proc | grep -c '^[0-9]'; cat /etc/debian_version")
	out, res := run(t, spec)
	if res.ExitCode != 0 {
		t.Fatalf("exit %d: %s", res.ExitCode, out)
	}
	lines := strings.Fields(out)
	if lines[0] != "pkgbox-test" {
		t.Errorf("hostname = %q, want pkgbox-test", lines[0])
	}
	t.Log(out)
}
