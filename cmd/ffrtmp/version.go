package main

import (
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ffrtmp/ffrtmp/engine"
	"github.com/ffrtmp/ffrtmp/internal/version"
)

// versionInfo is what `ffrtmp version -o json|yaml` prints.
type versionInfo struct {
	Version string           `json:"version"`
	Commit  string           `json:"commit,omitempty"`
	Go      string           `json:"go"`
	Engine  engine.BuildInfo `json:"engine"`
}

func newVersionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print ffrtmp's version, the FFmpeg it runs on and the hardware support compiled in",
		Long: `version prints ffrtmp's version and commit, the Go it was built with, the FFmpeg and go-astiav
versions it links, and the hardware device kinds and encoders compiled into that FFmpeg. What
really opens on this machine is ` + "`ffrtmp hw`" + `'s job.`,
		Example: `  ffrtmp version
  ffrtmp version -o json | jq -r .engine.ffmpeg`,
		Args: cobra.NoArgs,
	}
	format := addOutputFlag(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "same as -o json")
	_ = cmd.Flags().MarkHidden("json")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if asJSON {
			*format = formatJSON
		}
		if err := checkFormat(*format); err != nil {
			return err
		}
		info := versionInfo{Version: version.Version, Commit: version.Commit, Go: runtime.Version(), Engine: engine.Build()}
		if *format != formatTable {
			return render(cmd.OutOrStdout(), *format, info, nil)
		}
		writeVersion(cmd.OutOrStdout(), info)
		return nil
	}
	return cmd
}

func writeVersion(out io.Writer, v versionInfo) {
	b := v.Engine
	fmt.Fprintf(out, "ffrtmp %s", v.Version)
	if v.Commit != "" {
		fmt.Fprintf(out, " (%s)", v.Commit)
	}
	fmt.Fprintf(out, "\n%-10s %s\n", "go", v.Go)
	fmt.Fprintf(out, "%-10s %s (libavcodec %s)\n", "ffmpeg", b.FFmpeg, b.Libavcodec)
	fmt.Fprintf(out, "%-10s %s\n", "go-astiav", b.GoAstiav)
	fmt.Fprintf(out, "%-10s %s\n", "hwdevices", strings.Join(b.Devices, ", "))
	fmt.Fprintf(out, "%-10s %s\n", "encoders", strings.Join(b.Encoders, ", "))
}
