package cmd

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"pkgbox/build"
	"pkgbox/check"
	"pkgbox/config"
	"pkgbox/profiles"
	"pkgbox/store"
)

// configKeys are the keys a configuration file may set, by table: a table is
// a command and a key is one of its long flags; the top level holds the
// global flags. A value goes through the flag's own parsing (Value.Set), so
// a file accepts exactly what the command line does. Precedence: the
// command line, then the user's file, then the system's, then the built-in
// default (for store, PKGBOX_STORE comes between the command line and the
// files).
var configKeys = []struct {
	table string
	keys  []string
}{
	{"", []string{"store"}},
	{"build", []string{"root", "profile", "out", "jobs", "network", "nocheck", "debbuildopts", "dist",
		"pids", "memory", "timeout", "profiles", "extra-package", "overwrite", "keep", "no-layers",
		"ccache", "ccache-max-size",
		"lintian", "lintian-fail-on", "autopkgtest", "autopkgtest-fail", "piuparts",
		"extra-repository", "extra-repository-key", "host"}},
	{"gc", []string{"max-layers-size"}},
	{"run", []string{"profile", "network", "hostname"}},
	{"shell", []string{"profile", "network", "hostname"}},
	{"create", []string{"mirror", "variant", "components", "include", "keyring"}},
}

// configChecks are what a command checks of a flag's value after parsing it,
// for the keys where that is more than the flag's type; a file's value gets
// them when it is read, so that the error names its line.
var configChecks = map[string]func(string) error{
	"build.memory":       func(v string) error { _, err := build.ParseSize(v); return err },
	"gc.max-layers-size": func(v string) error { _, err := build.ParseSize(v); return err },
	"build.ccache-max-size": func(v string) error {
		if n, err := build.ParseSize(v); err != nil || n <= 0 {
			return fmt.Errorf("%q: want a size such as 2G", v)
		}
		return nil
	},
	"build.pids": nonNegative("a number of processes, 0 for no limit"),
	"build.jobs": nonNegative("a number of jobs, 0 for the number of CPUs"),
	"build.timeout": func(v string) error {
		if strings.HasPrefix(strings.TrimSpace(v), "-") {
			return fmt.Errorf("%q: want a positive duration, such as 2h", v)
		}
		return nil
	},
	"build.dist": func(v string) error {
		if store.ValidateName(v) != nil {
			return fmt.Errorf("%q: want a distribution name such as unstable or bookworm-backports", v)
		}
		return nil
	},
	"build.host": func(v string) error {
		if build.CheckArch(v) != nil {
			return fmt.Errorf("%q: want a Debian architecture name, such as arm64 or armhf", v)
		}
		return nil
	},
	"build.profile": profiles.CheckName,
	"run.profile":   profiles.CheckName,
	"shell.profile": profiles.CheckName,

	// The checks after the build (buildchecks.go).
	"build.lintian-fail-on": check.CheckFailOn,
}

func nonNegative(want string) func(string) error {
	return func(v string) error {
		if n, err := strconv.Atoi(v); err == nil && n < 0 {
			return fmt.Errorf("%d: want %s", n, want)
		}
		return nil
	}
}

// configOrigin is the flag annotation that says which file:line set it.
const configOrigin = "pkgbox-config-origin"

// noConfig are the commands that never read the files, so that a broken
// file cannot keep anyone from asking the version, installing completions or
// completing a word (completion reads the store's name itself, see
// completionStore).
var noConfig = []string{"version", "help", "completion", cobra.ShellCompRequestCmd, cobra.ShellCompNoDescRequestCmd}

// readConfig reads the system's file, then the user's; a key in both takes
// the user's value. Every key is checked against configKeys and the type of
// its flag; values are checked when applied.
func readConfig(root *cobra.Command) (map[string]*config.Setting, error) {
	merged := map[string]*config.Setting{}
	for _, file := range []string{config.SystemFile, config.UserFile()} {
		if file == "" {
			continue
		}
		settings, err := config.Load(file)
		if err != nil {
			return nil, err
		}
		for i := range settings {
			s := &settings[i]
			f, err := configFlag(root, s)
			if err != nil {
				return nil, err
			}
			if err := checkKind(s, f); err != nil {
				return nil, err
			}
			merged[s.Name()] = s
		}
	}
	return merged, nil
}

// configFlag returns the flag a setting stands for.
func configFlag(root *cobra.Command, s *config.Setting) (*pflag.Flag, error) {
	var tables []string
	for _, t := range configKeys {
		if t.table != "" {
			tables = append(tables, t.table)
		}
		if t.table != s.Table {
			continue
		}
		if !slices.Contains(t.keys, s.Key) {
			return nil, s.Errorf("%s", unknownKey(s, t.keys))
		}
		if t.table == "" {
			return root.PersistentFlags().Lookup(s.Key), nil
		}
		c, _, err := root.Find([]string{t.table})
		if err != nil {
			return nil, err
		}
		return c.Flags().Lookup(s.Key), nil
	}
	msg := fmt.Sprintf("unknown table [%s]", s.Table)
	if best := closest(s.Table, tables); best != "" {
		msg += fmt.Sprintf(", did you mean [%s]?", best)
	}
	return nil, &config.Error{File: s.File, Line: s.TableLine, Err: fmt.Errorf("%s (tables: %s)", msg, strings.Join(tables, ", "))}
}

// unknownKey says what is wrong with a key that its table does not have:
// the key of another table, or a misspelling of one of this table's.
func unknownKey(s *config.Setting, valid []string) string {
	where := "at the top level"
	if s.Table != "" {
		where = "in [" + s.Table + "]"
	}
	for _, t := range configKeys {
		if t.table != "" && t.table != s.Table && slices.Contains(t.keys, s.Key) {
			return fmt.Sprintf("unknown key %q %s: it belongs in [%s]", s.Key, where, t.table)
		}
	}
	msg := fmt.Sprintf("unknown key %q %s", s.Key, where)
	if best := closest(s.Key, valid); best != "" {
		msg += fmt.Sprintf(", did you mean %q?", best)
	}
	return msg + " (keys: " + strings.Join(valid, ", ") + ")"
}

// closest returns the word of words nearest to w, if one is near enough
// to be a misspelling of it.
func closest(w string, words []string) string {
	best, dist := "", 3
	for _, k := range words {
		if d := editDistance(w, k); d < dist {
			best, dist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// checkKind checks that a setting's TOML type fits its flag.
func checkKind(s *config.Setting, f *pflag.Flag) error {
	want := map[string]config.Kind{
		"bool": config.Bool, "int": config.Integer, "string": config.String, "duration": config.String,
		"stringSlice": config.Array, "stringArray": config.Array,
	}[f.Value.Type()]
	if s.Kind != want {
		return s.Errorf("%s: want %s %s, not %s", s.Name(), article(want), want, article(s.Kind)+" "+string(s.Kind))
	}
	return nil
}

func article(k config.Kind) string {
	if strings.ContainsAny(string(k[:1]), "aeiou") {
		return "an"
	}
	return "a"
}

// applyConfig gives the flags of the command about to run, and the global
// ones, the values of the configuration files, where the command line did
// not set them. It is the root command's PersistentPreRunE.
func applyConfig(c *cobra.Command, _ []string) error {
	if slices.Contains(noConfig, c.Name()) || c.HasParent() && slices.Contains(noConfig, c.Parent().Name()) {
		return nil
	}
	settings, err := readConfig(c.Root())
	if err != nil {
		return err
	}
	for _, s := range settings {
		if s.Table != "" && (s.Table != c.Name() || c.Parent() != c.Root()) {
			continue
		}
		f := c.Flags().Lookup(s.Key)
		if f == nil || f.Changed || s.Key == "store" && s.Table == "" && os.Getenv(store.EnvDir) != "" {
			continue
		}
		if err := setFlag(f, s); err != nil {
			return err
		}
	}
	return nil
}

// setFlag sets f to a setting's value, through the flag's own parsing, and
// marks it as set by the file.
func setFlag(f *pflag.Flag, s *config.Setting) error {
	if sv, ok := f.Value.(pflag.SliceValue); ok && s.Kind == config.Array {
		if err := sv.Replace(slices.Clone(s.Values)); err != nil {
			return s.Errorf("%s: %v", s.Name(), err)
		}
	} else {
		if err := f.Value.Set(s.Values[0]); err != nil {
			return s.Errorf("%s: %v", s.Name(), err)
		}
		if check := configChecks[s.Name()]; check != nil {
			if err := check(s.Values[0]); err != nil {
				return s.Errorf("%s: %v", s.Name(), err)
			}
		}
	}
	if f.Annotations == nil {
		f.Annotations = map[string][]string{}
	}
	f.Annotations[configOrigin] = []string{s.Origin()}
	return nil
}

// setByUser reports whether the user chose a flag's value: on the command
// line or in a configuration file.
func setByUser(c *cobra.Command, name string) bool {
	f := c.Flags().Lookup(name)
	return f != nil && (f.Changed || len(f.Annotations[configOrigin]) > 0)
}

// addExtras wires what spans the whole tree, once every command is in it:
// the configuration files and completion.
func addExtras(root *cobra.Command, g *globalOptions) {
	root.PersistentPreRunE = applyConfig
	root.AddCommand(newConfigCommand())
	addCompletions(root, g)
}

func newConfigCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "config [show]",
		Short: "Show the settings of the configuration files, and where each comes from",
		Long: `pkgbox reads defaults for its flags from /etc/pkgbox/config.toml, then from
~/.config/pkgbox/config.toml ($XDG_CONFIG_HOME/pkgbox/config.toml; under
sudo, in the home of the user who ran sudo). A flag on the command line
wins over the user's file, which wins over the system's, which wins over the
built-in default; for store, PKGBOX_STORE comes before the files.

The files are TOML: top-level keys are global flags, and a table per
command holds that command's flags, under their long names:

  store = "/srv/pkgbox"

  [build]
  jobs = 4
  memory = "8G"
  timeout = "3h"
  nocheck = true
  profiles = ["nodoc"]

  [run]
  network = true

'pkgbox config show' prints every key with its value and its origin, in the
same format.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return showConfig(c, c.OutOrStdout()) },
	}
	c.AddCommand(&cobra.Command{
		Use:   "show",
		Short: "Print every key with its effective value and its origin",
		Args:  cobra.NoArgs,
		RunE:  func(c *cobra.Command, _ []string) error { return showConfig(c, c.OutOrStdout()) },
	})
	return c
}

// showConfig prints every key of configKeys as TOML, with the value it has
// for a command run now, and a comment saying where that value comes from.
// It checks every value first, those of every command.
func showConfig(c *cobra.Command, w io.Writer) error {
	root := c.Root()
	settings, err := readConfig(root)
	if err != nil {
		return err
	}
	// Check every value, as the command it is for would: only show runs,
	// so setting the other commands' flags changes nothing else.
	for _, s := range settings {
		if s.Table == "" {
			continue // the global flags are set already, by applyConfig
		}
		sub, _, err := root.Find([]string{s.Table})
		if err != nil {
			return err
		}
		if err := setFlag(sub.Flags().Lookup(s.Key), s); err != nil {
			return err
		}
	}
	for _, file := range []string{config.SystemFile, config.UserFile()} {
		state := "absent"
		if _, err := os.Stat(file); err == nil {
			state = "read"
		}
		if file != "" {
			fmt.Fprintf(w, "# %s: %s\n", file, state)
		}
	}
	for _, t := range configKeys {
		if t.table != "" {
			fmt.Fprintf(w, "\n[%s]\n", t.table)
		}
		for _, k := range t.keys {
			name := k
			var f *pflag.Flag
			if t.table == "" {
				name, f = k, c.Flags().Lookup(k)
			} else {
				name = t.table + "." + k
				sub, _, _ := root.Find([]string{t.table})
				f = sub.Flags().Lookup(k)
			}
			value, origin := tomlValue(f.Value), "default"
			switch s := settings[name]; {
			case f.Changed:
				origin = "command line"
			case t.table == "" && k == "store" && os.Getenv(store.EnvDir) != "":
				origin = "env " + store.EnvDir
			case s != nil:
				value, origin = settingValue(s), s.Origin()
			}
			fmt.Fprintf(w, "%s = %s  # %s\n", k, value, origin)
		}
	}
	return nil
}

// tomlValue writes a flag's value as TOML.
func tomlValue(v pflag.Value) string {
	if sv, ok := v.(pflag.SliceValue); ok {
		return tomlStrings(sv.GetSlice())
	}
	switch v.Type() {
	case "bool", "int":
		return v.String()
	}
	return strconv.Quote(v.String())
}

func settingValue(s *config.Setting) string {
	switch s.Kind {
	case config.Array:
		return tomlStrings(s.Values)
	case config.String:
		return strconv.Quote(s.Values[0])
	}
	return s.Values[0]
}

func tomlStrings(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = strconv.Quote(v)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
