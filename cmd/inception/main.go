// Command inception lists, describes, runs, exports, benchmarks and checks
// the models of the Inception model zoo, and classifies images.
//
//	inception list                                   registered models
//	inception info NAME [--json] [--depth N]         per-block shapes, params, MACs
//	inception run NAME [--batch N] [--seed S]        deterministic input, top-5, latency
//	inception run --model F.onnx --input in.pb ...   run an ONNX file, write output_<i>.pb
//	inception export NAME -o F.onnx [--opset N]      ONNX export (optionally --weights F.onnx)
//	inception fetch NAME                             download and verify published weights
//	inception classify [--model NAME] IMAGE...       top-5 with labels
//	inception bench [NAMES] [--batch 1,8]            latency, GFLOP/s, peak RSS (ORT ratio with -tags ort)
//	inception conformance [--json]                   the conformance suite
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
