package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/inceptionzoo/inception/registry"
	"github.com/inceptionzoo/inception/weights"
	"github.com/inceptionzoo/inception/zoo"
)

func init() {
	commands = append(commands,
		func() *cobra.Command { return fetchCmd(defaultEnv()) },
		func() *cobra.Command { return classifyCmd(defaultEnv()) })
}

// env is what the weight-using commands take from the outside world; tests
// replace it with a private registry and a local server's client.
type env struct {
	reg    *registry.Registry
	client *http.Client // nil means http.DefaultClient
}

func defaultEnv() env { return env{reg: registry.Default} }

// pretrainedOpts are the zoo.Pretrained options of a command: its cache
// directory and weight file flags, e's client, progress to stderr.
func (e env) pretrainedOpts(cache, file string, progress io.Writer) []zoo.PretrainedOption {
	notices := progress
	if progress != nil && !drawProgress && !isTerminal(progress) {
		progress = nil // no redrawn bar in logs and pipes; notices still
	}
	opts := []zoo.PretrainedOption{zoo.PretrainedProgress(progress), zoo.PretrainedNotices(notices), zoo.PretrainedFile(file)}
	if cache != "" {
		opts = append(opts, zoo.PretrainedCache(cache))
	}
	if e.client != nil {
		opts = append(opts, zoo.PretrainedClient(e.client))
	}
	return opts
}

// fetchCmd is `inception fetch NAME`: download a model's pretrained
// weights into the cache (progress on stderr) and print the file's path;
// `inception fetch --verify [NAME]` hashes cached files again.
func fetchCmd(e env) *cobra.Command {
	var file, cache string
	var verify bool
	cmd := &cobra.Command{
		Use:         "fetch NAME[.TAG] [--file TAG] [--cache DIR] | fetch --verify [NAME[.TAG]]",
		Annotations: stopsOnSignal,
		Short:       "Download a model's pretrained weights into the cache and print the path",
		Long: `Download the weight file of one of a model's pretrained tags (the tag in
NAME.TAG, or --file TAG, else the model's default tag; 'inception info NAME'
lists them) into the weight cache, verify its size and SHA-256 (or the digest
prefix its publisher states), and print its path. A verified copy already in
the cache is not downloaded again. A file whose digest is not pinned (its tag
says why) is checked against the digest the server declares and the one
recorded on its first download, and fetch says so.

With --verify, every cached weight file any model's tag names (or only
NAME's file) is hashed again, whatever its verification record says; the
report lists each file, and files that do not match are removed (the command
then fails). Other files in the cache directory are listed as unknown.

The cache is --cache DIR, else $INCEPTION_CACHE, else
$XDG_CACHE_HOME/inceptionzoo/weights, else inceptionzoo/weights in the user
cache directory. Downloads that receive nothing for 30 s are abandoned and
resumed; Ctrl-C stops them (run again to resume). Without network access the
error says where to place a copy of the file obtained by other means.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if verify {
				if len(args) > 1 {
					return usageErrorf("fetch --verify takes at most one NAME, got %d", len(args))
				}
				return nil
			}
			return exactOne("NAME")(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if verify {
				return e.verifyCache(cmd, args, file, cache)
			}
			p, tag, err := zoo.FetchWeights(cmd.Context(), e.reg, args[0], e.pretrainedOpts(cache, file, cmd.ErrOrStderr())...)
			if err != nil {
				return err
			}
			if !tag.File.Pinned() {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: not pinned (%s); checked against the digest recorded on its first download\n", tag.File.Name, tag.File.Unpinned)
			}
			fmt.Fprintln(cmd.OutOrStdout(), p)
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "weight tag (default: the model's default tag)")
	cmd.Flags().StringVar(&cache, "cache", "", "cache directory (default: "+defaultCacheHelp()+")")
	cmd.Flags().BoolVar(&verify, "verify", false, "hash cached files again, report, and remove those that do not match")
	return cmd
}

// verifyCache is `inception fetch --verify [NAME]`.
func (e env) verifyCache(cmd *cobra.Command, args []string, tagName, dir string) error {
	if dir == "" {
		var err error
		if dir, err = weights.DefaultDir(); err != nil {
			return err
		}
	}
	c := &weights.Cache{Dir: dir, Progress: cmd.ErrOrStderr()}
	var files []weights.File
	known := map[string]bool{}
	if len(args) == 1 {
		entry, t, err := e.reg.Resolve(args[0])
		if err != nil {
			return err
		}
		if t == nil {
			if t, err = entry.Tag(tagName); err != nil {
				return err
			}
		}
		files = []weights.File{t.File}
	} else {
		if tagName != "" {
			return usageErrorf("fetch --verify: --file needs a NAME")
		}
		for _, entry := range e.reg.Entries() {
			for _, t := range entry.Tags {
				if !known[t.File.Name] {
					known[t.File.Name] = true
					files = append(files, t.File)
				}
			}
		}
	}
	w := cmd.OutOrStdout()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE\tSTATUS\tSHA-256")
	var ok, removed, absent int
	for _, f := range files {
		r, err := c.Verify(f)
		if err != nil {
			tw.Flush()
			return fmt.Errorf("fetch --verify: %w", err)
		}
		switch r.Status {
		case weights.Absent:
			absent++
			if len(args) == 1 {
				fmt.Fprintf(tw, "%s\tabsent\t%s\n", f.Name, f.Digest())
			}
		case weights.Intact:
			ok++
			digest := r.SHA256
			if !f.Pinned() {
				digest += " (not pinned: " + f.Unpinned + "; matches the digest recorded on first use)"
			}
			fmt.Fprintf(tw, "%s\tok\t%s\n", f.Name, digest)
		case weights.Removed:
			removed++
			fmt.Fprintf(tw, "%s\tREMOVED\t%v\n", f.Name, r.Problem)
		}
	}
	if len(args) == 0 {
		ents, _ := os.ReadDir(dir)
		for _, d := range ents {
			n := d.Name()
			if known[n] || strings.HasPrefix(n, ".") || strings.HasSuffix(n, ".sha256") || strings.HasSuffix(n, ".lock") {
				continue
			}
			if strings.HasSuffix(n, ".part") {
				fmt.Fprintf(tw, "%s\tpartial download\t(resumed by the next fetch)\n", n)
				continue
			}
			fmt.Fprintf(tw, "%s\tunknown\t(no weight tag names it; not checked)\n", n)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: %d verified, %d removed", dir, ok, removed)
	if len(args) == 1 {
		fmt.Fprintf(w, ", %d absent", absent)
	}
	fmt.Fprintln(w)
	if removed > 0 {
		return fmt.Errorf("fetch --verify: %d cached file(s) did not match and were removed; 'inception fetch NAME' downloads them again", removed)
	}
	return nil
}

func defaultCacheHelp() string {
	d, err := weights.DefaultDir()
	if err != nil {
		return "$INCEPTION_CACHE or $XDG_CACHE_HOME/inceptionzoo/weights"
	}
	return d
}
