package cmd

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newGCCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "gc",
		Short: "Remove leftovers of sessions and creates whose pkgbox died",
		Long: `Remove session directories and half-made roots whose owner is gone
(nobody holds their lock), such as those of a pkgbox killed with SIGKILL.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := g.openStore()
			if err != nil {
				return err
			}
			removed, err := s.GC()
			for _, dir := range removed {
				fmt.Fprintf(c.OutOrStdout(), "removed %s\n", dir)
			}
			return err
		},
	}
}
