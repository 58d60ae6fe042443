// Command pkgbox builds Debian packages in throw-away sandboxes.
package main

import (
	"os"

	"pkgbox/cmd"
	"pkgbox/sandbox"
)

func main() {
	// The sandbox's init is this same binary, re-executed inside the new
	// namespaces; it must take over before Cobra or anything else runs.
	sandbox.MaybeInit()
	os.Exit(cmd.Main())
}
