package cmd

import (
	"errors"
	"os"

	"github.com/spf13/cobra"
)

var errMissingDash = errors.New("give the command after --, as in: pkgbox run ROOT -- CMD [ARGS...]")

type shellOptions struct {
	sandboxOptions
}

func newShellCommand(g *globalOptions) *cobra.Command {
	o := &shellOptions{}
	c := &cobra.Command{
		Use:   "shell [ROOT] [flags]",
		Short: "Open an interactive shell in a sandbox on a root",
		Long: `Open a shell (bash, else sh) in a throw-away sandbox on ROOT. On a terminal
it gets a terminal of its own with job control; Ctrl-C reaches the job in
the shell, never pkgbox. Without a terminal, it reads commands from stdin.
Changes are thrown away unless --write.`,
		Example: `  pkgbox shell bookworm
  pkgbox shell bookworm --write --network`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			root := ""
			if len(args) == 1 {
				root = args[0]
			}
			tty := isTerminal(os.Stdin)
			argv := []string{"/bin/sh", "-c", `if [ -x /bin/bash ]; then exec /bin/bash "$@"; fi; exec /bin/sh "$@"`, "sh"}
			if tty {
				argv = append(argv, "-i")
			}
			opts, cmd, err := o.request(c, g, root, argv, tty)
			if err != nil {
				return err
			}
			return runSession(c.Context(), opts, cmd)
		},
	}
	o.addFlags(c)
	c.Flags().StringVar(&o.session, "session", "", "enter a session kept by 'pkgbox build --keep' instead of a new one")
	return c
}
