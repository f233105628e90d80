package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"

	"github.com/ffrtmp/ffrtmp/engine"
	"github.com/ffrtmp/ffrtmp/internal/version"
	"github.com/spf13/cobra"
)

func newVersionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print ffrtmp's version, the FFmpeg it runs on and the hardware support compiled in",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			b := engine.Build()
			out := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(out).Encode(map[string]any{
					"version": version.Version, "commit": version.Commit, "go": runtime.Version(), "engine": b,
				})
			}
			fmt.Fprintf(out, "ffrtmp %s", version.Version)
			if version.Commit != "" {
				fmt.Fprintf(out, " (%s)", version.Commit)
			}
			fmt.Fprintf(out, "\n%-10s %s\n", "go", runtime.Version())
			fmt.Fprintf(out, "%-10s %s (libavcodec %s)\n", "ffmpeg", b.FFmpeg, b.Libavcodec)
			fmt.Fprintf(out, "%-10s %s\n", "go-astiav", b.GoAstiav)
			fmt.Fprintf(out, "%-10s %s\n", "hwdevices", strings.Join(b.Devices, ", "))
			fmt.Fprintf(out, "%-10s %s\n", "encoders", strings.Join(b.Encoders, ", "))
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
