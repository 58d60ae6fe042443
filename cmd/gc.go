package cmd

import (
	"fmt"

	"github.com/spf13/cobra"

	"pkgbox/build"
	"pkgbox/sandbox"
	"pkgbox/store"
)

func newGCCommand(g *globalOptions) *cobra.Command {
	var kept bool
	var maxLayers string
	c := &cobra.Command{
		Use:   "gc",
		Short: "Remove leftovers of dead pkgbox processes, and old build-dependency layers",
		Long: `Remove session directories and half-made roots and layers whose owner is
gone (nobody holds their lock), such as those of a pkgbox killed with SIGKILL.
Sessions kept on purpose (build --keep) stay unless --kept is given.

Build-dependency layers of roots that were removed, updated or made again
are removed, then the least recently used ones until all take at most
--max-layers-size. Layers that a running or kept session uses stay.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			max, err := build.ParseSize(maxLayers)
			if err != nil {
				return &usageError{fmt.Errorf("--max-layers-size: %w", err)}
			}
			s, err := g.openStore()
			if err != nil {
				return err
			}
			removed, err := s.GC(kept)
			removed = append(removed, sandbox.GCCgroups()...)
			layers, lerr := s.GCLayers(max)
			removed = append(removed, layers...)
			for _, dir := range removed {
				fmt.Fprintf(c.OutOrStdout(), "removed %s\n", dir)
			}
			if err == nil {
				err = lerr
			}
			return err
		},
	}
	c.Flags().BoolVar(&kept, "kept", false, "also remove sessions kept with --keep that nobody uses")
	c.Flags().StringVar(&maxLayers, "max-layers-size", build.FormatSize(store.DefaultMaxLayersSize),
		"most space the build-dependency layers may take together, such as 20G (0: no limit)")
	return c
}
