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
	"pkgbox/chain"
	"pkgbox/debian"
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
prints the sources found, NAME=VERSION, one a line: a list for build --from.

With --from LIST (one source directory or .dsc a line, as build --from
reads them), the dependents are looked for among those sources instead of
the suite: new packages that build-depend on a new library, none of them
in the suite yet. BINARY then answers to what the --extra-package .debs of
BINARY provide, as their control data says, and the new .debs are also a
local repository of the builds (as build --chain makes one), so that a
source may build-depend on a package the suite lacks.`,
		Example: `  sudo pkgbox rebuild-rdeps libyaml-dev --list
  sudo pkgbox rebuild-rdeps libyaml-dev --extra-package ./libyaml-dev_0.2.6-1_amd64.deb \
      --extra-package ./libyaml-0-2_0.2.6-1_amd64.deb --out /srv/rdeps -J 2
  sudo pkgbox rebuild-rdeps libfoo-dev --from new-sources.list --extra-package ./libfoo-dev_1.0-1_amd64.deb`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if o.batch.chain {
				return &usageError{errors.New("--chain: rebuild-rdeps builds each dependent on its own; use pkgbox build --chain")}
			}
			s, tmpl, err := o.request(c, g)
			if err != nil {
				return err
			}
			var items []batch.Item
			if len(o.batch.from) > 0 {
				items, err = localRdeps(c, g, s, args[0], o)
			} else {
				items, err = suiteRdeps(c, g, s, args[0], o)
			}
			if err != nil {
				return err
			}
			if list {
				for _, it := range items {
					fmt.Fprintln(c.OutOrStdout(), it.Input)
				}
				return nil
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
			first := tmpl
			if len(o.batch.from) > 0 && len(o.extraPackages) > 0 {
				// The given sources may build-depend on a package the
				// suite lacks: the new .debs are a repository too, so
				// that apt can satisfy the dependencies with them.
				repo, err := chain.NewRepo(s)
				if err != nil {
					return err
				}
				defer func() {
					if err := repo.Remove(); err != nil {
						warn("remove the repository of the new .debs: " + err.Error())
					}
				}()
				if err := repo.AddDebs(o.extraPackages); err != nil {
					return err
				}
				t := *tmpl
				t.ExtraRepositories = append(slices.Clone(t.ExtraRepositories), repo.Line())
				first = &t
			}
			recs, err := runItems(c, o, first, items, nil)
			if err != nil || len(o.extraPackages) == 0 {
				if err != nil {
					return err
				}
				return batchExit(c.ErrOrStderr(), recs)
			}
			return withoutNewDebs(c, o, tmpl, items, recs)
		},
	}
	o.addFlags(c)
	o.batch.addFlags(c)
	c.Flags().BoolVar(&list, "list", false, "print the sources found, NAME=VERSION, one a line, and build nothing")
	return c
}

// suiteRdeps finds the sources of the root's suite that build-depend on
// binary, each as an item to build NAME=VERSION.
func suiteRdeps(c *cobra.Command, g *globalOptions, s *store.Store, binary string, o *buildOptions) ([]batch.Item, error) {
	root, missing, err := build.ChooseRoot(s, "", o.root, o.dist)
	if err != nil {
		return nil, err
	}
	if missing {
		if err := ensureDefaultRoot(c.Context(), g, s, c.ErrOrStderr(), root); err != nil {
			return nil, err
		}
	}
	meta, err := s.Root(root)
	if err != nil {
		return nil, err
	}
	found, names, err := findRdeps(c, s, root, meta.Arch, binary, o)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(c.ErrOrStderr(), "pkgbox: %s of %s %s on %s\n", plural(len(found), "source"), meta.Suite, buildDepend(len(found)), strings.Join(names, " or "))
	items := make([]batch.Item, len(found))
	for i, f := range found {
		items[i] = batch.Item{Input: f.Arg(), Origin: meta.Suite + "'s Sources", Package: f.Arg(), Root: root}
	}
	return items, nil
}

func buildDepend(n int) string {
	if n == 1 {
		return "build-depends"
	}
	return "build-depend"
}

// localRdeps finds, among the sources the --from lists give (directories
// and .dsc files: new packages not in the suite), those that build-depend
// on binary or on what the --extra-package .debs of binary provide.
func localRdeps(c *cobra.Command, g *globalOptions, s *store.Store, binary string, o *buildOptions) ([]batch.Item, error) {
	var given []batch.Item
	for _, f := range o.batch.from {
		more, err := batch.ReadListFile(f, c.InOrStdin())
		if err != nil {
			return nil, &usageError{err}
		}
		given = append(given, more...)
	}
	if err := batch.CheckDuplicates(given); err != nil {
		return nil, &usageError{err}
	}
	missing, err := batch.Resolve(s, given, o.root, o.dist)
	if err != nil {
		return nil, err
	}
	for _, name := range missing {
		if err := ensureDefaultRoot(c.Context(), g, s, c.ErrOrStderr(), name); err != nil {
			return nil, err
		}
	}
	names, err := rdeps.ProvidedByDebs(binary, o.extraPackages)
	if err != nil {
		return nil, err
	}
	var items []batch.Item
	for _, it := range given {
		if it.Source == "" {
			return nil, &usageError{fmt.Errorf("%s: %q: with --from, rebuild-rdeps looks among source directories and .dsc files; without it, among the suite's sources", it.Origin, it.Input)}
		}
		src, err := debian.ReadSource(it.Source)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", it.Origin, err)
		}
		meta, err := s.Root(it.Root)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", it.Origin, err)
		}
		via, err := rdeps.Uses(src, names, meta.Arch, o.buildProfiles())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", it.Origin, err)
		}
		if via != "" {
			items = append(items, it)
		}
	}
	fmt.Fprintf(c.ErrOrStderr(), "pkgbox: %s of %d given %s on %s\n", plural(len(items), "source"), len(given), buildDepend(len(items)), strings.Join(names, " or "))
	return items, nil
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
	found, err := rdeps.Find(names, arch, o.buildProfiles(), lists(srcFiles))
	return found, names, err
}

// buildProfiles are the build profiles the sources' build dependencies
// are reduced for: --profiles, and nocheck with --nocheck.
func (o *buildOptions) buildProfiles() []string {
	profiles := o.profiles
	if o.nocheck && !slices.Contains(profiles, "nocheck") {
		profiles = append(slices.Clone(profiles), "nocheck")
	}
	return profiles
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
		return batchExit(c.ErrOrStderr(), recs)
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
	return batchExit(c.ErrOrStderr(), recs)
}
