package cmd

import (
	"os"

	"github.com/spf13/cobra"
)

type runOptions struct {
	sandboxOptions
}

func newRunCommand(g *globalOptions) *cobra.Command {
	o := &runOptions{}
	c := &cobra.Command{
		Use:   "run [ROOT] [flags] -- CMD [ARGS...]",
		Short: "Run one command in a sandbox on a root",
		Long: `Run one command in a throw-away sandbox on ROOT (a root's name, or a
path to any directory holding a Debian root). The command's exit status
becomes pkgbox's; a command killed by signal S gives 128+S.

Changes are thrown away unless --write. The network is off (only lo)
unless --network, which links the sandbox's own network namespace to the
world through pasta (package passt): the host's own services, on its
loopback or its addresses, stay out of reach.`,
		Example: `  pkgbox run bookworm -- apt-cache policy dpkg
  pkgbox run ./chroot --network -- apt-get update`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			root, cmdArgs := "", args
			if at := c.ArgsLenAtDash(); at == 1 {
				root, cmdArgs = args[0], args[1:]
			} else if at != 0 {
				return &usageError{errMissingDash}
			}
			if len(cmdArgs) == 0 {
				return &usageError{errMissingDash}
			}
			tty := isTerminal(os.Stdin) && isTerminal(os.Stdout)
			opts, cmd, err := o.request(c, g, root, cmdArgs, tty)
			if err != nil {
				return err
			}
			return runSession(c.Context(), opts, cmd)
		},
	}
	o.addFlags(c)
	return c
}
