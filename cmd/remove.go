package cmd

import (
	"errors"

	"github.com/spf13/cobra"
)

// PLACEHOLDER: replaced by the real command.
func newRemoveCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{Use: "remove", RunE: func(*cobra.Command, []string) error { return errors.New("not implemented") }}
}
