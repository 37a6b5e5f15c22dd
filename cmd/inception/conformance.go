package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/inceptionzoo/inception/conformance"
	"github.com/inceptionzoo/inception/internal/ort"
	"github.com/inceptionzoo/inception/registry"
)

func init() { commands = append(commands, conformanceCmd) }

// errConformance is returned when a check fails (or, under CI=true, an
// oracle is missing); the report says which.
var errConformance = errors.New("conformance: failed")

// oracle is the state of one independent reference.
type oracle struct {
	Name   string             `json:"name"`
	Status conformance.Status `json:"status"` // pass (present), missing or skip (not needed)
	Detail string             `json:"detail,omitempty"`
}

// conformanceOutput is the --json document.
type conformanceOutput struct {
	OK        bool                     `json:"ok"`
	CI        bool                     `json:"ci"`
	Models    []*conformance.Report    `json:"models"`
	NodeTests *conformance.NodeSummary `json:"node_tests,omitempty"`
	NodeError string                   `json:"node_error,omitempty"`
	Oracles   []oracle                 `json:"oracles"`
}

// conformanceCmd is `inception conformance [--json] [--models a,b]`: the
// conformance suite as far as the environment allows.
func conformanceCmd() *cobra.Command {
	var asJSON bool
	var models []string
	cmd := &cobra.Command{
		Use:   "conformance [--json] [--models a,b]",
		Short: "Check models against ONNX Runtime goldens, their own ONNX export, torch twins and the ONNX node tests",
		Long: `Runs the conformance suite (package conformance) as far as the environment allows:
per model the metadata, forward passes at batch 1 and 2, the committed ONNX Runtime
golden, the ONNX export round trip, live ONNX Runtime (binary built with -tags ort
and scripts/setup.sh run) and the torch twins (python3-torch); then the ONNX backend
node tests (libonnx-testdata). The torch twins and node tests need a checkout of the
repository (run from inside it). A missing oracle is reported with how to install
it; with CI=true it is a failure. Exits non-zero on any failure.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			names := registry.Names()
			if len(models) > 0 {
				names = names[:0]
				for _, m := range models {
					e, err := registry.Lookup(m)
					if err != nil {
						return err
					}
					names = append(names, e.Name)
				}
			}
			out := runConformance(names)
			w := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(w)
				enc.SetIndent("", "  ")
				if err := enc.Encode(out); err != nil {
					return err
				}
			} else {
				printConformance(w, out)
			}
			if !out.OK {
				return errConformance
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().StringSliceVar(&models, "models", nil, "models to check (names or aliases, comma-separated; default all)")
	return cmd
}

func runConformance(names []string) *conformanceOutput {
	out := &conformanceOutput{CI: conformance.CI()}
	tmp, err := os.MkdirTemp("", "inception-conformance-")
	if err != nil {
		out.NodeError = err.Error()
		return out
	}
	defer os.RemoveAll(tmp)
	root, rootErr := conformance.RepoRoot("")

	var cases []conformance.TorchCase
	for _, n := range names {
		cases = append(cases, conformance.TorchCasesFor(n)...)
	}
	var torch *conformance.TorchEnv
	torchErr := rootErr
	switch {
	case len(cases) == 0:
		out.Oracles = append(out.Oracles, oracle{Name: "torch", Status: conformance.Skip, Detail: "no selected model has a torch twin"})
	case rootErr == nil:
		torch, torchErr = conformance.NewTorchEnv(root, filepath.Join(tmp, "torch"))
		if torchErr == nil {
			// Two exports at a time; a failed export reappears as the
			// failure of its model's torch check.
			_ = torch.ExportAll(cases)
			out.Oracles = append(out.Oracles, oracle{Name: "torch", Status: conformance.Pass, Detail: conformance.Python})
		}
	}
	if torchErr != nil {
		out.Oracles = append(out.Oracles, oracle{Name: "torch", Status: conformance.Missing, Detail: torchErr.Error()})
	}

	ortState := oracle{Name: "onnxruntime", Status: conformance.Pass}
	for _, n := range names {
		r := conformance.CheckModel(registry.Default, n, conformance.Options{ORT: true, Torch: torch, TempDir: tmp})
		if res := r.Result(conformance.CheckTorchName); res != nil && torchErr != nil && len(conformance.TorchCasesFor(n)) > 0 {
			res.Status, res.Detail = conformance.Missing, torchErr.Error()
		}
		if res := r.Result(conformance.CheckORTName); res != nil && res.Status == conformance.Missing {
			if !ort.Built {
				res.Detail = "this binary was built without ONNX Runtime: run scripts/setup.sh, then CGO_ENABLED=1 go run -tags ort ./cmd/inception conformance"
			}
			ortState = oracle{Name: "onnxruntime", Status: conformance.Missing, Detail: res.Detail}
		}
		out.Models = append(out.Models, r)
	}
	out.Oracles = append(out.Oracles, ortState)

	node := oracle{Name: "onnx backend node tests", Status: conformance.Pass, Detail: conformance.ONNXTestData}
	if rootErr != nil {
		node.Status, node.Detail = conformance.Missing, fmt.Sprintf("known-failures list %s: %v", conformance.KnownFailuresPath, rootErr)
	} else {
		out.NodeTests, err = conformance.RunNodeTests(conformance.NodeConfig{KnownFailures: filepath.Join(root, conformance.KnownFailuresPath)})
		switch {
		case errors.Is(err, conformance.ErrOracle):
			node.Status, node.Detail = conformance.Missing, err.Error()
		case err != nil:
			out.NodeError = err.Error()
		}
	}
	out.Oracles = append(out.Oracles, node)

	out.OK = out.NodeError == ""
	for _, r := range out.Models {
		if r.Failed(out.CI) {
			out.OK = false
		}
	}
	for _, o := range out.Oracles {
		if out.CI && o.Status == conformance.Missing {
			out.OK = false
		}
	}
	return out
}

// cell renders one check for the table.
func cell(r *conformance.Report, check string) string {
	res := r.Result(check)
	if res == nil {
		return "-"
	}
	switch {
	case res.Status == conformance.Pass && check == conformance.CheckORTName && r.ORT != nil:
		return fmt.Sprintf("pass (%.2g)", r.ORT.MaxAbs)
	case res.Status == conformance.Pass && check == conformance.CheckTorchName:
		return fmt.Sprintf("pass (%d)", len(r.Torch))
	case res.Status == conformance.Skip && check == conformance.CheckTorchName && len(conformance.TorchCasesFor(r.Model)) == 0:
		return "n/a"
	}
	return string(res.Status)
}

func printConformance(w io.Writer, out *conformanceOutput) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tPARAMS (OURS/REF)\tGOLDEN MAX ABS\tGOLDEN MAX REL\tROUND TRIP\tORT (MAX ABS)\tTORCH (CASES)\tSTATUS")
	var problems []string
	for _, r := range out.Models {
		params := "-"
		if md := r.Metadata; md != nil {
			params = fmt.Sprintf("%s/%s", group(md.Params), group(md.RefParams))
		}
		abs, rel := "-", "-"
		if g := r.Golden; g != nil {
			abs, rel = fmt.Sprintf("%.2g", g.Diff.MaxAbs), fmt.Sprintf("%.2g", g.Diff.MaxRel)
		}
		status := "ok"
		var failed []string
		for _, res := range r.Results {
			if res.Status == conformance.Fail || (out.CI && res.Status == conformance.Missing) {
				failed = append(failed, res.Check)
				problems = append(problems, fmt.Sprintf("%s: %s: %s", r.Model, res.Check, res.Detail))
			}
		}
		if len(failed) > 0 {
			status = "FAIL (" + strings.Join(failed, ", ") + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Model, params, abs, rel,
			cell(r, conformance.CheckRoundTripName), cell(r, conformance.CheckORTName), cell(r, conformance.CheckTorchName), status)
	}
	tw.Flush()

	if s := out.NodeTests; s != nil {
		fmt.Fprintf(w, "\nONNX backend node tests: %d/%d pass, %d known failures\n", s.Pass, s.Total, s.Known)
		tw = tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "OP\tPASS\tKNOWN FAILURES\tTOTAL")
		for _, op := range s.Ops {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", op.Op, op.Pass, op.Known, op.Total)
		}
		tw.Flush()
		for _, f := range s.Failures {
			problems = append(problems, fmt.Sprintf("node test %s: %s", f.Case, f.Error))
		}
	}
	fmt.Fprintln(w, "\nOracles:")
	for _, o := range out.Oracles {
		line := fmt.Sprintf("  %s: %s", o.Name, o.Status)
		if o.Status == conformance.Missing {
			line = fmt.Sprintf("  %s: MISSING: %s", o.Name, o.Detail)
			if out.CI {
				line += " (a failure under CI=true)"
			}
		} else if o.Detail != "" {
			line += " (" + o.Detail + ")"
		}
		fmt.Fprintln(w, line)
	}
	if out.NodeError != "" && out.NodeTests == nil {
		problems = append(problems, out.NodeError)
	}
	if len(problems) > 0 {
		fmt.Fprintln(w, "\nFailures:")
		for _, p := range problems {
			fmt.Fprintln(w, "  "+p)
		}
	}
	if out.OK {
		fmt.Fprintln(w, "\nconformance: ok")
	} else {
		fmt.Fprintln(w, "\nconformance: FAILED")
	}
}
