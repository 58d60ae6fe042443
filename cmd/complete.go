package cmd

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"pkgbox/config"
	"pkgbox/profiles"
	"pkgbox/store"
)

// addCompletions registers what the shell completes beyond flag names:
// root names, profile names, and build's argument. Cobra's own `completion`
// command writes the bash, zsh and fish scripts that call them through
// `pkgbox __complete`.
func addCompletions(root *cobra.Command, g *globalOptions) {
	roots := func(c *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return withPrefix(rootNames(c, g), toComplete), cobra.ShellCompDirectiveNoFileComp
	}
	firstIsRoot := func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		// After ROOT come the command and its arguments: files. (Cobra parses
		// the line with an extra "--" first, so ArgsLenAtDash cannot tell.)
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveDefault
		}
		// run and shell take a path to a root as well.
		if strings.ContainsRune(toComplete, '/') {
			return nil, cobra.ShellCompDirectiveFilterDirs
		}
		return withPrefix(rootNames(c, g), toComplete), cobra.ShellCompDirectiveNoFileComp
	}
	profileNames := func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		infos, _ := profiles.List()
		var names []string
		for _, i := range infos {
			if !i.Shadowed && strings.HasPrefix(i.Name, toComplete) {
				names = append(names, i.Name)
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
	for _, c := range root.Commands() {
		switch c.Name() {
		case "run", "shell":
			c.ValidArgsFunction = firstIsRoot
		case "update", "remove":
			c.ValidArgsFunction = func(c *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
				if len(args) > 0 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return roots(c, args, s)
			}
		case "build":
			c.ValidArgsFunction = func(c *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
				if len(args) > 0 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return buildArgs(c, g, s)
			}
			_ = c.RegisterFlagCompletionFunc("root", roots)
		case "profiles":
			for _, sub := range c.Commands() {
				if sub.Name() == "show" {
					sub.ValidArgsFunction = func(c *cobra.Command, args []string, s string) ([]string, cobra.ShellCompDirective) {
						if len(args) > 0 {
							return nil, cobra.ShellCompDirectiveNoFileComp
						}
						return profileNames(c, args, s)
					}
				}
			}
		}
		if c.Flags().Lookup("profile") != nil {
			_ = c.RegisterFlagCompletionFunc("profile", profileNames)
		}
	}
}

// completionStore is the store a command would use: --store, else
// PKGBOX_STORE, else the configuration files' (which completion reads itself:
// Cobra runs no hooks for `__complete`), else the default. Nothing is made
// or changed: completion only reads.
func completionStore(c *cobra.Command, g *globalOptions) *store.Store {
	dir := g.store
	if f := c.Flags().Lookup("store"); (f == nil || !f.Changed) && os.Getenv(store.EnvDir) == "" {
		for _, file := range []string{config.SystemFile, config.UserFile()} {
			settings, _ := config.Load(file)
			for _, s := range settings {
				if s.Table == "" && s.Key == "store" && s.Kind == config.String {
					dir = s.Values[0]
				}
			}
		}
	}
	cache := cacheFor(dir)
	if cache == "" {
		cache = filepath.Join(dir, "cache")
	}
	return &store.Store{Dir: dir, Cache: cache}
}

// withPrefix returns the words that start with prefix.
func withPrefix(words []string, prefix string) []string {
	var out []string
	for _, w := range words {
		if strings.HasPrefix(w, prefix) {
			out = append(out, w)
		}
	}
	return out
}

// rootNames are the names of the store's roots.
func rootNames(c *cobra.Command, g *globalOptions) []string {
	rs, err := completionStore(c, g).Roots()
	if err != nil {
		return nil
	}
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.Name
	}
	return names
}

// buildArgs completes build's argument: directories and .dsc files, and,
// once a letter is typed, the source packages of the source cache's lists
// (of --root's suite if given, else of every suite there).
func buildArgs(c *cobra.Command, g *globalOptions, toComplete string) ([]string, cobra.ShellCompDirective) {
	var out []string
	dir, base := filepath.Split(toComplete)
	ents, _ := os.ReadDir(filepath.Clean("./" + dir))
	hasDir := false
	for _, e := range ents {
		n := e.Name()
		if !strings.HasPrefix(n, base) || strings.HasPrefix(n, ".") && !strings.HasPrefix(base, ".") {
			continue
		}
		isDir := e.IsDir()
		if e.Type()&os.ModeSymlink != 0 {
			if fi, err := os.Stat(filepath.Join(dir, n)); err == nil {
				isDir = fi.IsDir()
			}
		}
		switch {
		case isDir:
			out = append(out, dir+n+"/")
			hasDir = true
		case strings.HasSuffix(n, ".dsc"):
			out = append(out, dir+n)
		}
	}
	if dir == "" && toComplete != "" {
		s := completionStore(c, g)
		suiteArch := ""
		if name, _ := c.Flags().GetString("root"); name != "" {
			if r, err := s.Root(name); err == nil {
				suiteArch = r.Suite + "-" + r.Arch
			}
		}
		out = append(out, s.SourceNames(suiteArch, toComplete)...)
	}
	d := cobra.ShellCompDirectiveNoFileComp
	if hasDir {
		d |= cobra.ShellCompDirectiveNoSpace
	}
	return out, d
}
