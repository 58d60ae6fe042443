package cmd

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"pkgbox/bootstrap"
)

func newUpdateCommand(g *globalOptions) *cobra.Command {
	var wait int
	c := &cobra.Command{
		Use:   "update ROOT",
		Short: "apt-get update and dist-upgrade inside a root",
		Long: `Bring ROOT up to date: apt-get update and dist-upgrade inside it, with the
network on and the root's exclusive lock held, so no session or build sees
it half-upgraded. While sessions use the root, update waits for them: for
--wait seconds, or without limit when --wait is 0.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := g.openStore()
			if err != nil {
				return err
			}
			if wait < 0 {
				return &usageError{fmt.Errorf("--wait %d: want a number of seconds, 0 for no limit", wait)}
			}
			o := bootstrap.UpdateOptions{Wait: time.Duration(wait) * time.Second, Warn: warn}
			if g.verbose {
				o.Log = os.Stderr
			} else {
				fmt.Fprintf(os.Stderr, "pkgbox: updating %s: apt-get update, dist-upgrade\n", args[0])
			}
			r, err := bootstrap.Update(c.Context(), s, args[0], o)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "root %q updated\n", r.Name)
			return nil
		},
	}
	c.Flags().IntVar(&wait, "wait", 0, "seconds to wait for running sessions of the root (0: no limit)")
	return c
}
