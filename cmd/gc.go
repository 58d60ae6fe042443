package cmd

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"pkgbox/bootstrap"
	"pkgbox/build"
	"pkgbox/sandbox"
	"pkgbox/store"
)

func newGCCommand(g *globalOptions) *cobra.Command {
	var kept bool
	var maxLayers string
	c := &cobra.Command{
		Use:   "gc",
		Short: "Remove leftovers of dead pkgbox processes, old bootstrap images and build-dependency layers",
		Long: `Remove session directories and half-made roots and layers whose owner is
gone (nobody holds their lock), such as those of a pkgbox killed with SIGKILL.
Sessions kept on purpose (build --keep) stay unless --kept is given.

Also remove the cached bootstraps (images) that create would not reuse:
those older than a week, and those of a suite, architecture and variant
that no root has any more; gc says how much space that gave back.

Build-dependency layers of roots that were removed, updated or made again
are removed, then the least recently used ones until all take at most
--max-layers-size. Layers that a running or kept session uses stay.

Compiler caches (build --ccache) of removed roots are removed; the others
are trimmed, least recently written files first, to the bound their last
build gave them (build --ccache-max-size). A cache a build uses stays.`,
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
			caches, cerr := s.GCCcaches(0)
			printCcaches(c.OutOrStdout(), caches)
			images, ierr := bootstrap.ExpireImages(s, time.Now())
			printExpired(c.OutOrStdout(), images)
			return errors.Join(err, ierr, lerr, cerr)
		},
	}
	c.Flags().BoolVar(&kept, "kept", false, "also remove sessions kept with --keep that nobody uses")
	c.Flags().StringVar(&maxLayers, "max-layers-size", build.FormatSize(store.DefaultMaxLayersSize),
		"most space the build-dependency layers may take together, such as 20G (0: no limit)")
	return c
}

// printCcaches says which compiler caches gc removed or trimmed.
func printCcaches(w io.Writer, caches []store.CcacheGC) {
	for _, c := range caches {
		if c.Removed {
			fmt.Fprintf(w, "removed compiler cache %s (its root is gone)\n", c.Dir)
			continue
		}
		fmt.Fprintf(w, "trimmed compiler cache %s from %s to %s (%d files)\n", c.Dir, humanSize(c.Before), humanSize(c.After), c.Files)
	}
}

// printExpired says which bootstrap images gc removed, and how much space
// that gave back.
func printExpired(w io.Writer, images []bootstrap.ExpiredImage) {
	var freed int64
	for _, im := range images {
		fmt.Fprintf(w, "removed bootstrap image %s (%s, %s)\n", im.Path, humanSize(im.Size), im.Reason)
		freed += im.Size
	}
	if len(images) > 0 {
		fmt.Fprintf(w, "bootstrap images: %d removed, %s freed\n", len(images), humanSize(freed))
	}
}
