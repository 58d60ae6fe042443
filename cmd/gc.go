package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"pkgbox/sandbox"
)

func newGCCommand(g *globalOptions) *cobra.Command {
	var kept bool
	c := &cobra.Command{
		Use:   "gc",
		Short: "Remove leftovers of sessions and creates whose pkgbox died",
		Long: `Remove session directories and half-made roots whose owner is gone
(nobody holds their lock), such as those of a pkgbox killed with SIGKILL.
Sessions kept on purpose (build --keep) stay unless --kept is given.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := g.openStore()
			if err != nil {
				return err
			}
			removed, err := s.GC(kept)
			removed = append(removed, sandbox.GCCgroups()...)
			for _, dir := range removed {
				fmt.Fprintf(c.OutOrStdout(), "removed %s\n", dir)
			}
			return err
		},
	}
	c.Flags().BoolVar(&kept, "kept", false, "also remove sessions kept with --keep that nobody uses")
	return c
}
