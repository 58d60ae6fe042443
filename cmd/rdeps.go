package cmd

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"pkgbox/batch"
	"pkgbox/build"
	"pkgbox/rdeps"
	"pkgbox/store"
)

func newRebuildRdepsCommand(g *globalOptions) *cobra.Command {
	o := &buildOptions{}
	var list bool
	c := &cobra.Command{
		Use:   "rebuild-rdeps BINARY [flags]",
		Short: "Build every source of the root's suite that build-depends on a binary package",
		Long: `Find, in the root's suite (its Sources and Packages lists, brought up to
date in the store's cache as build NAME does), every source whose
Build-Depends, -Arch and -Indep, reduced for the root's architecture and
the build profiles, name BINARY or a name BINARY provides, as Debian's ratt
does; then build the newest version of each, as a batch (see pkgbox build
--help: -J, --keep-going, --skip-built, --shard, --json).

With --extra-package NEW.deb (repeatable: a new upload of the library),
every build installs the new .debs first; the sources that fail are built
again without them, into --out's subdirectory without-new-debs, to tell the
failures the new .debs cause from those the suite had already. --list only
prints the sources found, NAME=VERSION, one a line: a list for build --from.`,
		Example: `  sudo pkgbox rebuild-rdeps libyaml-dev --list
  sudo pkgbox rebuild-rdeps libyaml-dev --extra-package ./libyaml-dev_0.2.6-1_amd64.deb \
      --extra-package ./libyaml-0-2_0.2.6-1_amd64.deb --out /srv/rdeps -J 2`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if len(o.batch.from) > 0 {
				return &usageError{errors.New("--from: rebuild-rdeps finds its sources itself; use pkgbox build --from")}
			}
			s, tmpl, err := o.request(c, g)
			if err != nil {
				return err
			}
			root, missing, err := build.ChooseRoot(s, "", o.root, o.dist)
			if err != nil {
				return err
			}
			if missing {
				if err := ensureDefaultRoot(c.Context(), g, s, c.ErrOrStderr(), root); err != nil {
					return err
				}
			}
			meta, err := s.Root(root)
			if err != nil {
				return err
			}
			found, names, err := findRdeps(c, s, root, meta.Arch, args[0], o)
			if err != nil {
				return err
			}
			verb := "build-depend"
			if len(found) == 1 {
				verb += "s"
			}
			fmt.Fprintf(c.ErrOrStderr(), "pkgbox: %s of %s %s on %s\n", plural(len(found), "source"), meta.Suite, verb, strings.Join(names, " or "))
			if list {
				for _, f := range found {
					fmt.Fprintln(c.OutOrStdout(), f.Arg())
				}
				return nil
			}
			items := make([]batch.Item, len(found))
			for i, f := range found {
				items[i] = batch.Item{Input: f.Arg(), Origin: meta.Suite + "'s Sources", Package: f.Arg(), Root: root}
			}
			if o.batch.shard != "" {
				sh, err := batch.ParseShard(o.batch.shard)
				if err != nil {
					return &usageError{err}
				}
				items = sh.Of(items)
			}
			if len(items) == 0 {
				return nil
			}
			recs, err := runItems(c, o, tmpl, items, nil)
			if err != nil || len(o.extraPackages) == 0 {
				if err != nil {
					return err
				}
				return batchExit(recs)
			}
			return withoutNewDebs(c, o, tmpl, items, recs)
		},
	}
	o.addFlags(c)
	o.batch.addFlags(c)
	c.Flags().BoolVar(&list, "list", false, "print the sources found, NAME=VERSION, one a line, and build nothing")
	return c
}

// findRdeps reads the suite's lists and finds the sources that
// build-depend on binary or what it provides (names).
func findRdeps(c *cobra.Command, s *store.Store, root, arch, binary string, o *buildOptions) ([]rdeps.Source, []string, error) {
	srcFiles, pkgFiles, err := build.SuiteLists(c.Context(), s, root)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		for _, f := range append(srcFiles, pkgFiles...) {
			f.Close()
		}
	}()
	lists := func(files []*os.File) []rdeps.List {
		var l []rdeps.List
		for _, f := range files {
			l = append(l, rdeps.List{Name: f.Name(), R: f})
		}
		return l
	}
	names, err := rdeps.Provided(binary, lists(pkgFiles))
	if err != nil {
		return nil, nil, err
	}
	profiles := o.profiles
	if o.nocheck && !slices.Contains(profiles, "nocheck") {
		profiles = append(slices.Clone(profiles), "nocheck")
	}
	found, err := rdeps.Find(names, arch, profiles, lists(srcFiles))
	return found, names, err
}

// withoutNewDebs builds again, without the extra packages, the sources that
// failed with them, and says which fail only with them.
func withoutNewDebs(c *cobra.Command, o *buildOptions, tmpl *build.Request, items []batch.Item, recs []*batch.Record) error {
	var again []batch.Item
	for i, r := range recs {
		if r.Outcome == batch.Failed {
			again = append(again, items[i])
		}
	}
	if len(again) == 0 || c.Context().Err() != nil {
		return batchExit(recs)
	}
	out := o.out
	if out == "" {
		out = "."
	}
	out, err := build.Subdir(out, "without-new-debs")
	if err != nil {
		return err
	}
	fmt.Fprintf(c.ErrOrStderr(), "pkgbox: building the %s that failed again without the new .debs, into %s\n", plural(len(again), "source"), out)
	t := *tmpl
	t.ExtraPackages, t.Out = nil, out
	without, err := runItems(c, o, &t, again, nil)
	if err != nil {
		return err
	}
	var onlyNew []string
	for _, r := range without {
		if r.Outcome == batch.Built {
			onlyNew = append(onlyNew, r.Input)
		}
	}
	w := c.OutOrStdout()
	if o.jsonOut {
		w = c.ErrOrStderr()
	}
	if len(onlyNew) == 0 {
		fmt.Fprintln(w, "no source fails only with the new .debs")
	} else {
		fmt.Fprintf(w, "fail only with the new .debs (built without them): %s\n", strings.Join(onlyNew, " "))
	}
	return batchExit(recs)
}
