// Command inception lists, describes, runs, exports, benchmarks and checks
// the models of the Inception model zoo; classifies images, computes
// embeddings and FID, trains, and serves models over the Open Inference
// Protocol.
//
//	inception list                                   registered models
//	inception info NAME [--json] [--depth N]         per-block shapes, params, MACs
//	inception run NAME [--batch N] [--seed S]        standard input (i/n), top-5, latency
//	inception run --model F.onnx [--input in.pb ...] the same for an ONNX file; --output-dir
//	inception export NAME -o F.onnx [--opset N]      ONNX export (optionally --weights F.onnx)
//	inception fetch NAME                             download and verify published weights
//	inception classify [--model NAME] IMAGE...       top-5 with labels
//	inception embed [--layer PATH] IMAGE... --out F  embeddings or a layer's outputs (.npy, JSON lines)
//	inception fid PATH_A PATH_B [--dims D] [--json]  Frechet Inception Distance (pytorch-fid)
//	inception fid --save-stats PATH OUT.npz          pytorch-fid statistics of a folder
//	inception kid PATH_A PATH_B / is PATH            KID and Inception Score (torch-fidelity)
//	inception train --model NAME --data D --out F    train from scratch (gorgonia back end), resumable
//	inception finetune --model NAME --data DIR ...   replace the head and train it on an image folder
//	inception eval --model F --data D                top-1 accuracy on Fashion-MNIST or an image folder
//	inception serve MODEL[=WEIGHTS]...               Open Inference Protocol server (REST and gRPC)
//	inception loadtest --model NAME [--url U]        throughput and latency of a running server
//	inception bench [NAMES] [--batch 1,8] [--train]  latency, GFLOP/s, peak RSS (ORT ratio with -tags ort)
//	inception conformance [--json]                   the conformance suite
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/inceptionzoo/inception/weights"
)

func main() {
	for _, hook := range preMain {
		if hook() {
			return
		}
	}
	root := newRoot()
	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		signal.Stop(sigs) // a second signal has its default effect
		if !stopsCleanly(root, os.Args[1:]) {
			os.Exit(signalExit(s))
		}
		fmt.Fprintf(os.Stderr, "inception: %v: stopping (again to stop at once)\n", s)
		cancel(fmt.Errorf("%w: %v", errSignal, s))
	}()
	err := root.ExecuteContext(ctx)
	if err != nil {
		verbose, _ := root.PersistentFlags().GetBool("verbose")
		fmt.Fprintln(os.Stderr, "inception:", errorText(err, verbose))
		os.Exit(exitCode(err))
	}
}

// stopsOnSignal annotates the commands that honour their context: the
// first Ctrl-C or SIGTERM cancels cmd.Context() and they stop cleanly
// (train and finetune after a checkpoint, serve after draining, embed and
// fid between batches, downloads without a partial file). Every other
// command exits at once, as without a handler, with 130 or 143.
var stopsOnSignal = map[string]string{"stops-on-signal": "true"}

// errSignal is the cause of a context cancelled by a signal.
var errSignal = errors.New("signal")

// stopsCleanly reports whether the command that args run, or one of its
// parents, is annotated with stopsOnSignal.
func stopsCleanly(root *cobra.Command, args []string) bool {
	c, _, err := root.Find(args)
	for ; err == nil && c != nil; c = c.Parent() {
		if c.Annotations["stops-on-signal"] != "" {
			return true
		}
	}
	return false
}

// signalExit is the shell's exit status of a process killed by s.
func signalExit(s os.Signal) int {
	if s == syscall.SIGTERM {
		return 128 + int(syscall.SIGTERM)
	}
	return 128 + 2 // SIGINT
}

// errorText is the one-line message of err, or with verbose the details
// some errors carry (a failed download's URL, digest, size and cause).
func errorText(err error, verbose bool) string {
	msg := cliNames.Replace(err.Error())
	var ue *weights.UnavailableError
	if verbose && errors.As(err, &ue) {
		return msg + "\n" + ue.Details()
	}
	return msg
}

// cliNames turns the library's option names in error messages into the
// flags that set them on the command line.
var cliNames = strings.NewReplacer(
	"zoo.WithWeights(path)", "--weights FILE",
	"zoo.WithWeights", "--weights",
	"zoo.WithTransformInput", "--transform-input",
	"zoo.WithAux", "--aux",
	"zoo.WithClasses", "--classes",
	"zoo.WithInputSize", "--size",
	"zoo.PretrainedFile", "--file",
	"zoo.Pretrained", "--pretrained",
)

// exitCode is 2 for usage errors (unknown flags, missing or contradictory
// arguments), 1 for everything else.
func exitCode(err error) int {
	if errors.Is(err, errSignal) || errors.Is(err, context.Canceled) {
		return 130
	}
	var u usageError
	if errors.As(err, &u) || errors.Is(err, errBenchFlag) {
		return 2
	}
	return 1
}

// usageError marks a command line that cannot be run as given.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// usageErrorf returns a usageError with a formatted message.
func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "inception",
		Short:         "The Inception model zoo: GoogLeNet, BN-Inception, Inception v3/v4 and Inception-ResNet in pure Go",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.PersistentFlags().BoolP("verbose", "v", false, "print the details of an error (a failed download's URL, digest, size and cause)")
	root.AddCommand(listCmd(), infoCmd(), runCmd())
	for _, c := range commands {
		root.AddCommand(c())
	}
	return root
}

// preMain holds functions that run before the command line is parsed; one
// that returns true has handled the process (the Beam worker harness,
// started by a runner with Go-style flags, does; see pipeline.go).
var preMain []func() bool

// commands holds the constructors of further subcommands; each lives in its
// own file and appends itself from an init function.
var commands []func() *cobra.Command
