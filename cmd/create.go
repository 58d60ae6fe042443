package cmd

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"pkgbox/bootstrap"
	"pkgbox/store"
)

type createOptions struct {
	req   bootstrap.Request
	fresh bool
}

func (o *createOptions) addFlags(c *cobra.Command) {
	f := c.Flags()
	f.StringVar(&o.req.Name, "name", "", "name of the root (default SUITE, or SUITE-ARCH for a foreign architecture)")
	f.StringVar(&o.req.Arch, "arch", "", "Debian architecture of the root (default the host's)")
	f.StringVar(&o.req.Variant, "variant", "buildd", "debootstrap variant: buildd, minbase, fakechroot or default")
	f.StringSliceVar(&o.req.Include, "include", nil, "extra packages to install (comma-separated)")
	f.StringSliceVar(&o.req.Components, "components", nil, "archive components (default main)")
	f.StringVar(&o.req.Mirror, "mirror", "", "mirror URL (default the host's apt sources for the suite, else debootstrap's default)")
	f.StringVar(&o.req.Keyring, "keyring", "", "keyring to check the Release file with")
	f.BoolVar(&o.req.NoCheckGPG, "no-check-gpg", false, "do not check the Release file's signature")
	f.BoolVar(&o.req.NoCheckValidUntil, "no-check-valid-until", false, "let the root's apt accept expired Release files (a snapshot or a frozen copy of testing or sid)")
	f.BoolVar(&o.fresh, "fresh", false, "run debootstrap even when the cache holds a recent bootstrap of the same suite, variant and mirror")
}

func newCreateCommand(g *globalOptions) *cobra.Command {
	o := &createOptions{}
	c := &cobra.Command{
		Use:   "create SUITE",
		Short: "Make a root with debootstrap",
		Long: `Make a root for SUITE (a codename, or stable, testing, unstable, oldstable)
with debootstrap, ready for builds. debootstrap runs into a temporary
directory of the store and only a complete root is kept: an interrupted or
failed create leaves nothing behind. Downloaded packages are kept in the
store's apt cache, and debootstrap's result as an image: the next create of
the same suite, variant and mirror within a week unpacks that image and
upgrades it with apt instead, which is several times quicker (--fresh
runs debootstrap again).

Archived suites (such as squeeze) come from Debian's archive, checked with
the removed-keys keyring.`,
		Example: `  pkgbox create bookworm
  pkgbox create unstable --variant minbase --include eatmydata
  pkgbox create squeeze --arch i386`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, err := g.openStore()
			if err != nil {
				return err
			}
			o.req.Suite = args[0]
			plan, err := bootstrap.NewPlan(c.Context(), &o.req, bootstrap.DefaultHost())
			if err != nil {
				return err
			}
			r, err := createRoot(c.Context(), g, s, plan, bootstrap.CreateOptions{Fresh: o.fresh})
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "root %q ready: %s %s (%s) in %s\n", r.Name, r.Suite, r.Arch, r.Variant, r.Path)
			return nil
		},
	}
	o.addFlags(c)
	return c
}

// createRoot runs a create as o says, with its progress display on stderr.
func createRoot(ctx context.Context, g *globalOptions, s *store.Store, plan *bootstrap.Plan, o bootstrap.CreateOptions) (*store.Root, error) {
	d := bootstrap.NewDisplay(os.Stderr, g.verbose)
	defer d.Close()
	o.Progress, o.Log = d.Event, d.Log()
	return bootstrap.Create(ctx, s, plan, o)
}
