package main

import (
	"fmt"
	"io"
	"net/http"

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
	opts := []zoo.PretrainedOption{zoo.PretrainedProgress(progress), zoo.PretrainedFile(file)}
	if cache != "" {
		opts = append(opts, zoo.PretrainedCache(cache))
	}
	if e.client != nil {
		opts = append(opts, zoo.PretrainedClient(e.client))
	}
	return opts
}

// fetchCmd is `inception fetch NAME`: download a model's pretrained
// weights into the cache (progress on stderr) and print the file's path.
func fetchCmd(e env) *cobra.Command {
	var file, cache string
	cmd := &cobra.Command{
		Use:   "fetch NAME[.TAG] [--file TAG] [--cache DIR]",
		Short: "Download a model's pretrained weights into the cache and print the path",
		Long: `Download the weight file of one of a model's pretrained tags (the tag in
NAME.TAG, or --file TAG, else the model's default tag; 'inception info NAME'
lists them) into the weight cache, verify its size and SHA-256 (or the digest
prefix its publisher states), and print its path. A verified copy already in
the cache is not downloaded again.

The cache is --cache DIR, else $INCEPTION_CACHE, else
$XDG_CACHE_HOME/inceptionzoo/weights, else inceptionzoo/weights in the user
cache directory. Without network access the error says where to place a copy
of the file obtained by other means.`,
		Args: exactOne("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, _, err := zoo.FetchWeights(cmd.Context(), e.reg, args[0], e.pretrainedOpts(cache, file, cmd.ErrOrStderr())...)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), p)
			return nil
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "weight tag (default: the model's default tag)")
	cmd.Flags().StringVar(&cache, "cache", "", "cache directory (default: "+defaultCacheHelp()+")")
	return cmd
}

func defaultCacheHelp() string {
	d, err := weights.DefaultDir()
	if err != nil {
		return "$INCEPTION_CACHE or $XDG_CACHE_HOME/inceptionzoo/weights"
	}
	return d
}
