// Package security holds tests of what a sandbox can reach of the host.
package security

import (
	"os"
	"testing"

	"pkgbox/cmd"
	"pkgbox/sandbox"
)

// cliEnv makes this test binary act as pkgbox, so that tests can run, and
// kill, a real `pkgbox run` process.
const cliEnv = "PKGBOX_SECURITY_CLI"

func TestMain(m *testing.M) {
	sandbox.MaybeInit()
	if os.Getenv(cliEnv) == "1" {
		os.Exit(cmd.Main())
	}
	os.Exit(m.Run())
}
