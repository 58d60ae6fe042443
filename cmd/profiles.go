package cmd

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/spf13/cobra"

	"pkgbox/profiles"
	"pkgbox/sandbox"
)

// newProfilesCommand builds `pkgbox profiles` and its subcommands. It has no
// flags of its own: every subcommand takes one name or file, or nothing.
func newProfilesCommand(g *globalOptions) *cobra.Command {
	c := &cobra.Command{
		Use:   "profiles [list | show NAME | check FILE]",
		Short: "List, show and check mount profiles",
		Long: `A profile says what a sandbox mounts on top of what it always makes
itself (its own /proc, and a /dev with /dev/pts and /dev/shm). It is an
fstab(5) file, as jchroot and schroot use it:

  SOURCE  TARGET  TYPE  OPTIONS  [DUMP [PASS]]

pkgbox looks for NAME.fstab in ` + strings.Join(profiles.Dirs(), ", then ") + `,
then among its built-in profiles. With no subcommand, profiles lists them.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runProfilesList(c.OutOrStdout()) },
	}
	c.AddCommand(
		&cobra.Command{
			Use:   "list",
			Short: "List the profiles, and where each comes from",
			Args:  cobra.NoArgs,
			RunE:  func(c *cobra.Command, _ []string) error { return runProfilesList(c.OutOrStdout()) },
		},
		&cobra.Command{
			Use:   "show NAME",
			Short: "Print a profile and the mounts it makes",
			Args:  cobra.ExactArgs(1),
			RunE: func(c *cobra.Command, args []string) error {
				p, err := profiles.Find(args[0])
				if err != nil {
					return err
				}
				return printProfile(c.OutOrStdout(), p)
			},
		},
		&cobra.Command{
			Use:   "check FILE",
			Short: "Check an fstab file for use as a profile",
			Args:  cobra.ExactArgs(1),
			RunE: func(c *cobra.Command, args []string) error {
				p, err := profiles.LoadFile(args[0])
				if err != nil {
					return err
				}
				n, s := len(p.Mounts(true)), "s"
				if n == 1 {
					s = ""
				}
				fmt.Fprintf(c.OutOrStdout(), "%s: %d mount%s OK\n", args[0], n, s)
				for _, w := range p.Warnings {
					fmt.Fprintf(c.ErrOrStderr(), "warning: %s\n", w)
				}
				return nil
			},
		},
	)
	return c
}

// runProfilesList prints every profile, the one Find picks for a name first
// and those it hides marked as shadowed.
func runProfilesList(w io.Writer) error {
	infos, err := profiles.List()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSOURCE")
	for _, i := range infos {
		line := i.Name + "\t" + i.Path
		if i.Path == "builtin:"+i.Name {
			line = i.Name + "\tbuilt-in"
		}
		if i.Shadowed {
			line += "\t(shadowed)"
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

// printProfile prints p's text, then its mounts one a line, then its warnings.
func printProfile(w io.Writer, p *profiles.Profile) error {
	fmt.Fprintf(w, "# %s\n%s", p.Path, p.Text)
	if p.Text != "" && !strings.HasSuffix(p.Text, "\n") {
		fmt.Fprintln(w)
	}
	if len(p.Entries) == 0 {
		fmt.Fprintln(w, "\nmounts: none beyond the sandbox's own /proc, /dev, /dev/pts and /dev/shm")
	} else {
		fmt.Fprintln(w, "\nmounts, after the sandbox's own /proc, /dev, /dev/pts and /dev/shm:")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  TYPE\tSOURCE\tTARGET\tFLAGS\tDATA\tLINE")
		for _, e := range p.Entries {
			m := e.Mount
			typ := m.Type
			if m.Type == sandbox.TypeBind && m.Recursive {
				typ = "rbind"
			}
			cells := []string{"  " + typ, profileCell(m.Source), profileCell(m.Target),
				profileCell(m.Flags.String()), profileCell(strings.Join(m.Data, ",")), m.Origin}
			if e.Network {
				cells = append(cells, "only with the network")
			}
			if e.NoAuto {
				cells = append(cells, "noauto: never mounted")
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(p.Warnings) > 0 {
		fmt.Fprintln(w, "\nwarnings:")
		for _, s := range p.Warnings {
			fmt.Fprintf(w, "  %s\n", s)
		}
	}
	return nil
}

// profileCell shows s in a table: "-" when empty, quoted when it holds a
// blank or an unprintable byte, which would break the columns.
func profileCell(s string) string {
	switch {
	case s == "":
		return "-"
	case strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsGraphic(r) || unicode.IsSpace(r) || r == '"' }):
		return strconv.Quote(s)
	}
	return s
}
