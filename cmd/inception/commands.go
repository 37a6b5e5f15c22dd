package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/inceptionzoo/inception/nn"
	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/spec"
	"github.com/inceptionzoo/inception/tensor"
	"github.com/inceptionzoo/inception/zoo"
)

func listCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the registered models",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			entries := registry.Default.Entries()
			w := cmd.OutOrStdout()
			if asJSON {
				type row struct {
					Name    string   `json:"name"`
					Aliases []string `json:"aliases,omitempty"`
					Params  int64    `json:"params"`
					MACs    int64    `json:"macs"`
					Input   nn.Shape `json:"input"`
					Classes int      `json:"classes"`
					Tags    []string `json:"tags"`
				}
				var rows []row
				for _, e := range entries {
					rows = append(rows, row{e.Name, e.Aliases, e.RefParams, e.RefMACs, e.Input, e.Classes, tagNames(e)})
				}
				return writeJSON(w, rows)
			}
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tALIASES\tPARAMS\tMACS\tINPUT\tCLASSES\tWEIGHTS (TAGS)")
			for _, e := range entries {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", e.Name, strings.Join(e.Aliases, ","), group(e.RefParams), group(e.RefMACs), e.Input, e.Classes, strings.Join(tagNames(e), ","))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// tagNames lists e's weight tags, the default first.
func tagNames(e registry.Entry) []string {
	out := []string{}
	for _, t := range e.Tags {
		out = append(out, t.Name)
	}
	return out
}

// tagInfo is one weight tag as info shows it.
type tagInfo struct {
	Ref            string          `json:"ref"`
	Default        bool            `json:"default,omitempty"`
	Description    string          `json:"description,omitempty"`
	Format         spec.Format     `json:"format"`
	Input          nn.Shape        `json:"input"`
	Classes        int             `json:"classes"`
	Labels         string          `json:"labels,omitempty"`
	Preprocess     spec.Preprocess `json:"preprocess"`
	TransformInput bool            `json:"transform_input,omitempty"`
	File           string          `json:"file"`
	URL            string          `json:"url"`
	Size           int64           `json:"size,omitempty"`
	Digest         string          `json:"sha256,omitempty"`   // the SHA-256, or its prefix and "…"
	Unpinned       string          `json:"unpinned,omitempty"` // why no digest is pinned
	License        string          `json:"license"`
	Source         string          `json:"source"`
	Notes          string          `json:"notes,omitempty"`
}

func tagInfos(e registry.Entry) []tagInfo {
	var out []tagInfo
	for i := range e.Tags {
		t := &e.Tags[i]
		c, l := e.ClassesOf(t)
		info := tagInfo{Ref: e.Ref(t), Default: i == 0, Description: t.Description, Format: t.Format,
			Input: e.InputOf(t), Classes: c, Labels: l, Preprocess: t.Preprocess, TransformInput: t.TransformInput,
			File: t.File.Name, URL: t.File.URL, Size: t.File.Size, Unpinned: t.File.Unpinned,
			License: t.License, Source: t.Source, Notes: t.Notes}
		if t.File.Pinned() {
			info.Digest = t.File.Digest()
		}
		out = append(out, info)
	}
	return out
}

// digestText says how a tag's file is verified: "sha256 <digest>" or
// "not pinned (<reason>)".
func (t tagInfo) digestText() string {
	if t.Unpinned != "" {
		return "not pinned (" + t.Unpinned + ")"
	}
	return "sha256 " + t.Digest
}

func loadOpts(seed uint64, aux, transform bool) []zoo.Option {
	opts := []zoo.Option{zoo.WithSeed(seed)}
	if aux {
		opts = append(opts, zoo.WithAux())
	}
	if transform {
		opts = append(opts, zoo.WithTransformInput())
	}
	return opts
}

func infoCmd() *cobra.Command {
	var asJSON, aux bool
	var depth int
	cmd := &cobra.Command{
		Use:   "info NAME",
		Short: "Show a model's blocks: output shape, parameters and MACs",
		Args:  exactOne("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if depth < 0 {
				return usageErrorf("info: --depth %d: want 0 or more", depth)
			}
			m, err := zoo.Load(args[0], loadOpts(zoo.DefaultSeed, aux, false)...)
			if err != nil {
				return err
			}
			s := m.Summary()
			w := cmd.OutOrStdout()
			if asJSON {
				out := struct {
					Name    string         `json:"name"`
					Paper   string         `json:"paper"`
					Input   nn.Shape       `json:"input"`
					Output  nn.Shape       `json:"output"`
					Params  int64          `json:"params"`
					Buffers int64          `json:"buffers"`
					MACs    int64          `json:"macs"`
					Blocks  []nn.BlockInfo `json:"blocks"`
					Weights []tagInfo      `json:"weights"`
				}{Name: s.Name, Paper: m.Spec.Paper, Input: s.Input, Output: s.Output, Params: s.Params, Buffers: s.Buffers, MACs: s.MACs, Weights: tagInfos(m.Spec)}
				for _, b := range s.Blocks {
					if b.Depth <= depth {
						out.Blocks = append(out.Blocks, b)
					}
				}
				return writeJSON(w, out)
			}
			fmt.Fprintf(w, "%s — %s\n%s\n\n", s.Name, m.Spec.Description, m.Spec.Paper)
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "BLOCK\tKIND\tOUTPUT\tPARAMS\tMACS\t")
			fmt.Fprintf(tw, "input\t\t%s\t\t\t\n", s.Input)
			for _, b := range s.Blocks {
				if b.Depth == 0 || b.Depth > depth || b.Path == "" {
					continue
				}
				fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\t%s\t\n", strings.Repeat("  ", b.Depth-1), b.Path, b.Kind, b.Out, group(b.Params), group(b.MACs))
			}
			fmt.Fprintf(tw, "total\t\t%s\t%s\t%s\t\n", s.Output, group(s.Params), group(s.MACs))
			if err := tw.Flush(); err != nil {
				return err
			}
			if len(m.Spec.Quirks) > 0 {
				fmt.Fprintln(w, "\nquirks:")
				for _, q := range m.Spec.Quirks {
					fmt.Fprintln(w, "  -", q)
				}
			}
			fmt.Fprintln(w, "\npretrained weights (inception fetch NAME.TAG; --pretrained --file TAG):")
			if len(m.Spec.Tags) == 0 {
				fmt.Fprintln(w, "  none published; load a file with --weights FILE")
			}
			for _, t := range tagInfos(m.Spec) {
				def := ""
				if t.Default {
					def = " (default)"
				}
				fmt.Fprintf(w, "  %s%s: %s\n", t.Ref, def, t.Description)
				fmt.Fprintf(w, "      %s, input %s, %d classes %s, %s", t.Format, t.Input, t.Classes, orNone(t.Labels), t.Preprocess)
				if t.TransformInput {
					fmt.Fprint(w, ", transform_input")
				}
				fmt.Fprintf(w, "\n      %s  %s\n      licence: %s\n", t.URL, t.digestText(), t.License)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().BoolVar(&aux, "aux", false, "include the auxiliary heads")
	cmd.Flags().IntVar(&depth, "depth", 1, "show blocks down to this depth")
	return cmd
}

// DeterministicInput returns a [batch, shape...] tensor of uniform values in
// [-1, 1) drawn from nn.Rand stream "input" under seed.
func DeterministicInput(shape nn.Shape, batch int, seed uint64) *tensor.Tensor {
	t := tensor.New(append([]int{batch}, shape...)...)
	r := nn.NewRand(seed, "input")
	for i := range t.Data {
		t.Data[i] = r.Uniform(-1, 1)
	}
	return t
}

// orNone is s in parentheses, or "(unnamed)".
func orNone(s string) string {
	if s == "" {
		return "(unnamed)"
	}
	return "(" + s + ")"
}

func exactOne(name string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usageErrorf("%s needs exactly one %s argument (see 'inception list'), got %d", cmd.Name(), name, len(args))
		}
		return nil
	}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// group formats n with thousands separators.
func group(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
