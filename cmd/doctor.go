package cmd

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"pkgbox/doctor"
)

func newDoctorCommand(g *globalOptions) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "doctor",
		Short: "Check what pkgbox needs from this machine, with the command that fixes each failure",
		Long: `Check, for the mode pkgbox would run in, everything a first use needs:
the kernel (overlayfs; user namespaces, subordinate ids and newuidmap for
rootless mode), cgroups, debootstrap and Debian's keyrings, pasta, the
store's file system and free space, and the host's mirror. One line each;
a failure is followed by the command that fixes it.

As root, pkgbox runs in root mode. As another user it runs in rootless
mode (a user namespace mapped through newuidmap and newgidmap, a store
in ~/.local/share/pkgbox), and doctor checks what that mode needs.

Exit status 0 when every check passes, 1 when one fails (warnings do not).`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			checks := doctor.Run(c.Context(), doctor.Default(g.store))
			if err := printChecks(c.OutOrStdout(), checks, asJSON); err != nil {
				return err
			}
			if doctor.Failed(checks) {
				return &exitError{ExitError}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the checks as a JSON array")
	return c
}

// printChecks prints one line per check, and the fix under each that is
// not ok; or the checks as JSON.
func printChecks(w io.Writer, checks []doctor.Check, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(checks)
	}
	for _, ch := range checks {
		word := "ok  "
		switch {
		case ch.OK:
		case ch.Warning:
			word = "warn"
		default:
			word = "FAIL"
		}
		fmt.Fprintf(w, "%s %s: %s\n", word, ch.Name, ch.Detail)
		if !ch.OK && ch.Fix != "" {
			fmt.Fprintf(w, "     fix: %s\n", ch.Fix)
		}
	}
	return nil
}
