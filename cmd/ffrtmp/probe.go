package main

import (
	"encoding/json"

	"github.com/ffrtmp/ffrtmp/engine"
	"github.com/spf13/cobra"
)

func newProbeCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "probe INPUT",
		Short: "Print an input's container and streams as JSON",
		Example: `  ffrtmp probe in.mp4
  ffrtmp probe rtmp://127.0.0.1/live/cam1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := engine.Probe(cmd.Context(), engine.Input{URL: args[0], Format: format})
			if err != nil {
				if engine.KindOf(err) == engine.KindSpec {
					return usageError{err}
				}
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(res)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "force the input format (demuxer name)")
	return cmd
}
