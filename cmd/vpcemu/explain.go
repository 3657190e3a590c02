package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newExplainCmd is a placeholder until the reference evaluator lands.
func newExplainCmd(_ *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "explain",
		Short: "explain what SGs and NACLs decide for a flow (not yet implemented)",
		RunE:  func(*cobra.Command, []string) error { return errors.New("explain: not implemented yet") },
	}
}
