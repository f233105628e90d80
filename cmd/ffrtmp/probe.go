package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
)

func newProbeCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "probe INPUT",
		Short: "Print an input's container and streams",
		Long: `probe opens an input (a file or a URL libav can read: http, rtmp, ...) and describes its
container and streams without decoding them.`,
		Example: `  ffrtmp probe in.mp4
  ffrtmp probe -o json rtmp://127.0.0.1/live/cam1`,
		Args: cobra.ExactArgs(1),
	}
	output := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := checkFormat(*output); err != nil {
			return err
		}
		res, err := engine.Probe(cmd.Context(), spec.Input{URL: args[0], Format: format})
		if err != nil {
			if engine.KindOf(err) == engine.KindSpec {
				return usageError{err}
			}
			return err
		}
		return render(cmd.OutOrStdout(), *output, res, func() ([]string, [][]string) {
			return probeTable(cmd.OutOrStdout(), res)
		})
	}
	cmd.Flags().StringVarP(&format, "format", "f", "", "force the input format (demuxer name)")
	return cmd
}

// probeTable prints the container line and returns the streams as table rows.
func probeTable(w io.Writer, res engine.ProbeResult) ([]string, [][]string) {
	fmt.Fprintf(w, "%s: %s, %s, %s\n\n", res.URL, res.Format, seconds(res.Duration), kbps(res.BitRate))
	rows := make([][]string, 0, len(res.Streams))
	for _, s := range res.Streams {
		detail := "-"
		switch s.Type {
		case "video":
			detail = fmt.Sprintf("%dx%d %s %s fps", s.Width, s.Height, s.PixelFormat, strconv.FormatFloat(s.FPS, 'f', -1, 64))
		case "audio":
			detail = fmt.Sprintf("%d Hz %s", s.SampleRate, s.ChannelLayout)
		}
		rows = append(rows, []string{strconv.Itoa(s.Index), s.Type, s.Codec, detail, kbps(s.BitRate), seconds(s.Duration)})
	}
	return []string{"#", "TYPE", "CODEC", "DETAIL", "BITRATE", "DURATION"}, rows
}

func kbps(bps int64) string {
	if bps <= 0 {
		return "-"
	}
	return fmt.Sprintf("%d kb/s", bps/1000)
}

func seconds(s float64) string {
	if s <= 0 {
		return "-"
	}
	return strconv.FormatFloat(s, 'f', 2, 64) + " s"
}
