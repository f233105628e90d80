package main

import (
	"github.com/spf13/cobra"

	"github.com/ffrtmp/ffrtmp/hw"
)

func newHWCmd() *cobra.Command {
	var device string
	cmd := &cobra.Command{
		Use:   "hw",
		Short: "Probe this machine: NVIDIA GPUs (NVML), hardware devices, and the encoders and decoders that really open",
		Long: `hw opens every hardware device kind (cuda, qsv, vaapi) and every encoder ffrtmp offers at
a small size, and reports what really works here: a build can contain h264_nvenc on a GPU
without NVENC (H100, A100), and this says so, with libav's reason. For NVENC it also counts
how many sessions open at once (consumer cards are capped).`,
		Example: `  ffrtmp hw
  ffrtmp hw -o json | jq '.encoders[] | select(.ok) | .name'`,
		Args: cobra.NoArgs,
	}
	output := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if err := checkFormat(*output); err != nil {
			return err
		}
		r := hw.Probe(cmd.Context(), hw.Options{DeviceName: device})
		if *output == formatTable {
			r.WriteTable(cmd.OutOrStdout())
			return nil
		}
		return render(cmd.OutOrStdout(), *output, r, nil)
	}
	cmd.Flags().StringVar(&device, "device", "", "device to probe: a GPU index for cuda, a render node for vaapi (default: the first)")
	return cmd
}
