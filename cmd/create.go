package cmd

import (
	"errors"

	"github.com/spf13/cobra"
)

// PLACEHOLDER: replaced by the real command.
func newCreateCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{Use: "create", RunE: func(*cobra.Command, []string) error { return errors.New("not implemented") }}
}
