// Package cmd holds pkgbox's Cobra commands: flags, help text, and the
// translation of errors into messages and exit codes. The work itself is done
// by the packages below it; no command makes a syscall or runs a program.
package cmd

import (
	"fmt"

	"os"

	"github.com/spf13/cobra"

	"pkgbox/store"
)

// version is set at build time with -ldflags "-X pkgbox/cmd.version=...".
var version = "dev"

// globalOptions are the flags every command has.
type globalOptions struct {
	store   string
	verbose bool
}

func (g *globalOptions) addFlags(c *cobra.Command) {
	def := os.Getenv(store.EnvDir)
	if def == "" {
		def = defaultStore()
	}
	c.PersistentFlags().StringVar(&g.store, "store", def, "store directory for roots, sessions and caches (env "+store.EnvDir+
		"; an ordinary user's is ~/.local/share/pkgbox, caches in ~/.cache/pkgbox)")
	c.PersistentFlags().BoolVarP(&g.verbose, "verbose", "v", false, "show what is being done, and the output of the tools pkgbox runs")
}

// openStore opens the store the flags name.
func (g *globalOptions) openStore() (*store.Store, error) {
	return store.OpenCache(g.store, cacheFor(g.store))
}

// defaultStore is the store of the user running pkgbox: root's in
// /var/lib, an ordinary user's (rootless mode) in its XDG data directory.
func defaultStore() string {
	if os.Geteuid() == 0 {
		return store.DefaultDir
	}
	if dir, _, err := store.UserDirs(); err == nil {
		return dir
	}
	return store.DefaultDir
}

// cacheFor is where the caches of store dir go: for an ordinary user's
// default store, the user's XDG cache directory; else "", the store's own
// cache/ folder (--store and PKGBOX_STORE keep everything together).
func cacheFor(dir string) string {
	if os.Geteuid() == 0 {
		return ""
	}
	if d, cache, err := store.UserDirs(); err == nil && d == dir {
		return cache
	}
	return ""
}

// NewRootCommand builds the whole command tree (pkgbox-man writes the
// manual pages from it).
func NewRootCommand() *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:   "pkgbox",
		Short: "Build Debian packages in throw-away sandboxes",
		Long: `pkgbox builds Debian packages in throw-away sandboxes: roots made by
debootstrap, entered in fresh PID, mount, UTS, IPC and network namespaces,
with nothing left behind afterwards.`,
		Version:       version,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	g.addFlags(root)
	root.SetVersionTemplate("pkgbox {{.Version}}\n")
	root.AddCommand(
		newVersionCommand(),
		newCreateCommand(g),
		newListCommand(g),
		newUpdateCommand(g),
		newRemoveCommand(g),
		newBuildCommand(g),
		newBatchReportCommand(),
		newRebuildRdepsCommand(g),
		newRunCommand(g),
		newShellCommand(g),
		newGCCommand(g),
		newProfilesCommand(g),
		newDoctorCommand(g),
	)
	addExtras(root, g)
	return root
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print pkgbox's version",
		Args:  cobra.NoArgs,
		Run: func(c *cobra.Command, _ []string) {
			fmt.Fprintf(c.OutOrStdout(), "pkgbox %s\n", version)
		},
	}
}
