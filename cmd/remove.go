package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"pkgbox/bootstrap"
)

func newRemoveCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "remove ROOT",
		Short: "Delete a root",
		Long: `Delete ROOT from the store. pkgbox refuses while a session, build or
update uses the root, and checks the host's mount table first: nothing
mounted under the root is ever deleted through.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := g.openStore()
			if err != nil {
				return err
			}
			if err := bootstrap.Remove(c.Context(), s, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "root %q removed\n", args[0])
			return nil
		},
	}
}
