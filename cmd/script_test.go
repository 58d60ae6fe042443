package cmd_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"pkgbox/cmd"
	"pkgbox/config"
	"pkgbox/docs/man"
	"pkgbox/internal/testenv"
	"pkgbox/sandbox"
)

func TestMain(m *testing.M) {
	// The sandbox's init is this test binary, re-executed.
	sandbox.MaybeInit()
	// Scripts name the system's configuration file and the homes of users
	// (for SUDO_USER) in the environment, so that no test reads the
	// machine's /etc/pkgbox/config.toml or depends on its users. Only this
	// test binary reads these variables.
	if f := os.Getenv("TEST_SYSTEM_CONFIG"); f != "" {
		config.SystemFile = f
	}
	config.LookupHome = func(name string) (string, error) {
		if h := os.Getenv("TEST_HOME_" + name); h != "" {
			return h, nil
		}
		return "", errors.New("user: unknown user " + name)
	}
	os.Exit(testscript.RunMain(m, map[string]func() int{
		"pkgbox":     cmd.Main,
		"pkgbox-man": func() int { return man.Main(cmd.NewRootCommand()) },
	}))
}

// TestScripts runs the CLI scripts in testdata/script: what a user types,
// what they see, exit codes. Scripts whose name starts with "unit_" need
// nothing from the machine; the others run against the shared test root.
func TestScripts(t *testing.T) {
	haveRoot := testenv.Available(testenv.Root, testenv.Net)
	if haveRoot {
		testenv.SharedRoot(t)
	}
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("..", "testdata", "script"),
		Setup: func(env *testscript.Env) error {
			env.Setenv("PKGBOX_STORE", testenv.StoreDir())
			// For scripts that point PKGBOX_STORE elsewhere and come back.
			env.Setenv("SHARED_STORE", testenv.StoreDir())
			packages, err := filepath.Abs(filepath.Join("..", "testdata", "packages"))
			if err != nil {
				return err
			}
			env.Setenv("PACKAGES", packages)
			// A directory beside the shared store, on its file system, for a
			// script's hard-linked copy of the shared root (run_write).
			copyDir, err := os.MkdirTemp(filepath.Dir(testenv.StoreDir()), "pkgbox-script-root-")
			if err != nil {
				return err
			}
			env.Defer(func() { _ = os.RemoveAll(copyDir) })
			env.Setenv("ROOTCOPY", copyDir)
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, ".config"))
			env.Setenv("TEST_SYSTEM_CONFIG", filepath.Join(env.WorkDir, "etc", "pkgbox", "config.toml"))
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "root":
				// The shared test root and root privileges; scripts that
				// need them start with [!root] skip.
				return haveRoot, nil
			}
			return false, nil
		},
	})
}
