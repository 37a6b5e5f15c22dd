// Command inception lists, describes and runs the models of the Inception
// model zoo.
//
//	inception list
//	inception info inception-v1 [--json] [--depth N]
//	inception run inception-v1 [--batch N] [--seed S]
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRoot().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "inception:", err)
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "inception",
		Short:         "The Inception model zoo: GoogLeNet, BN-Inception, Inception v3/v4 and Inception-ResNet in pure Go",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(listCmd(), infoCmd(), runCmd())
	for _, c := range commands {
		root.AddCommand(c())
	}
	return root
}

// commands holds the constructors of further subcommands; each lives in its
// own file and appends itself from an init function.
var commands []func() *cobra.Command
