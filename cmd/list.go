package cmd

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"pkgbox/store"
)

// listedRoot is one root as `list --json` prints it.
type listedRoot struct {
	*store.Root
	Path string `json:"path"`
	Size int64  `json:"size"`
}

func newListCommand(g *globalOptions) *cobra.Command {
	var asJSON, layers bool
	c := &cobra.Command{
		Use:   "list",
		Short: "List the roots in the store",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := g.openStore()
			if err != nil {
				return err
			}
			if layers {
				return listLayers(c, s, asJSON)
			}
			roots, err := s.Roots()
			if err != nil {
				return err
			}
			listed := make([]listedRoot, 0, len(roots))
			for _, r := range roots {
				size, err := store.DiskUsage(r.Path)
				if err != nil {
					return err
				}
				listed = append(listed, listedRoot{Root: r, Path: r.Path, Size: size})
			}
			if asJSON {
				enc := json.NewEncoder(c.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(listed)
			}
			if len(listed) == 0 {
				fmt.Fprintln(c.OutOrStdout(), "no roots yet: make one with `pkgbox create SUITE`")
				return nil
			}
			tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSUITE\tARCH\tVARIANT\tSIZE\tCREATED\tUPDATED")
			for _, r := range listed {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, r.Suite, r.Arch, r.Variant,
					humanSize(r.Size), shortTime(r.Created), shortTime(r.Updated))
			}
			return tw.Flush()
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the roots as JSON")
	c.Flags().BoolVar(&layers, "layers", false, "list the build-dependency layers instead")
	return c
}

// listLayers prints the store's build-dependency layers, least recently
// used first (the order in which gc trims them).
func listLayers(c *cobra.Command, s *store.Store, asJSON bool) error {
	layers, err := s.Layers()
	if err != nil {
		return err
	}
	if asJSON {
		if layers == nil {
			layers = []*store.Layer{}
		}
		enc := json.NewEncoder(c.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(layers)
	}
	if len(layers) == 0 {
		fmt.Fprintln(c.OutOrStdout(), "no build-dependency layers yet: `pkgbox build` keeps one")
		return nil
	}
	tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tROOT\tARCH\tPACKAGES\tSIZE\tLAST USED")
	for _, l := range layers {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", l.Key, l.Root, l.Arch, l.Packages, humanSize(l.Size), shortTime(l.LastUsed))
	}
	return tw.Flush()
}

func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func shortTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format("2006-01-02 15:04")
}
