package main

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
)

// qualityReport is one distorted file's scores, as `ffrtmp quality -o json` prints them.
type qualityReport struct {
	Distorted string `json:"distorted"`
	Reference string `json:"reference"`
	engine.Quality
}

func newQualityCmd() *cobra.Command {
	var ref, model string
	var maxFrames int
	var noVMAF bool
	cmd := &cobra.Command{
		Use:   "quality --ref SOURCE DISTORTED...",
		Short: "Score encodes against their source: PSNR, SSIM and VMAF",
		Long: `quality decodes each DISTORTED video next to the reference (--ref, its source) and scores
it: PSNR (dB, Y, U and V weighted by plane size, and Y alone), SSIM, and VMAF (libvmaf, in
this process): the mean over frames, the 1st percentile (the worst moments) and the
harmonic mean. Frames are paired in order; a smaller rendition is scaled to the reference's
size (bicubic) first, as players do. VMAF uses vmaf_v0.6.1, or vmaf_4k_v0.6.1 for a
reference taller than 1440 lines (--vmaf-model picks one).

Scores agree with the ffmpeg program's psnr, ssim and libvmaf filters on the same pair.`,
		Example: `  ffrtmp quality --ref source.mp4 out/720p.mp4 out/480p.mp4
  ffrtmp quality --ref source.mp4 -o json encode.mkv`,
		Args: cobra.MinimumNArgs(1),
	}
	output := addOutputFlag(cmd)
	cmd.Flags().StringVar(&ref, "ref", "", "the reference video (the encodes' source)")
	cmd.Flags().StringVar(&model, "vmaf-model", "", "VMAF model: "+engine.VMAFModelHD+" or "+engine.VMAFModel4K+" (default: by the reference's height)")
	cmd.Flags().IntVar(&maxFrames, "max-frames", 0, "compare at most this many frames (0: all)")
	cmd.Flags().BoolVar(&noVMAF, "no-vmaf", false, "PSNR and SSIM only (VMAF is the slow part)")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := checkFormat(*output); err != nil {
			return err
		}
		switch {
		case ref == "":
			return usagef("quality needs --ref SOURCE, the video the encodes were made from")
		case maxFrames < 0:
			return usagef("--max-frames %d: want 0 (all) or more", maxFrames)
		case model != "" && model != engine.VMAFModelHD && model != engine.VMAFModel4K:
			return usagef("--vmaf-model %q: want %s or %s", model, engine.VMAFModelHD, engine.VMAFModel4K)
		case !noVMAF && !engine.HasVMAF():
			return errors.New("this FFmpeg build has no libvmaf: rebuild it with `make deps`, or pass --no-vmaf")
		}
		opt := engine.QualityOptions{VMAF: !noVMAF, VMAFModel: model, MaxFrames: maxFrames}
		reports := make([]qualityReport, 0, len(args))
		for _, d := range args {
			q, err := engine.MeasureQuality(cmd.Context(), spec.Input{URL: d}, spec.Input{URL: ref}, opt)
			if err != nil {
				return err
			}
			reports = append(reports, qualityReport{Distorted: d, Reference: ref, Quality: q})
		}
		return render(cmd.OutOrStdout(), *output, reports, func() ([]string, [][]string) {
			return qualityTable(reports)
		})
	}
	return cmd
}

// qualityTable is one row per distorted file.
func qualityTable(reports []qualityReport) ([]string, [][]string) {
	f := func(v *float64, prec int) string {
		if v == nil {
			return "-"
		}
		return strconv.FormatFloat(*v, 'f', prec, 64)
	}
	rows := make([][]string, 0, len(reports))
	for _, r := range reports {
		rows = append(rows, []string{r.Distorted, strconv.Itoa(r.Frames), f(&r.PSNR, 2), f(&r.PSNRY, 2),
			f(&r.SSIM, 4), f(r.VMAF, 2), f(r.VMAFP1, 2), f(r.VMAFHarmonic, 2)})
	}
	head := []string{"DISTORTED", "FRAMES", "PSNR dB", "PSNR-Y dB", "SSIM", "VMAF", "VMAF P1", "VMAF HMEAN"}
	if len(reports) > 0 && reports[0].VMAFModel != "" {
		head[5] = fmt.Sprintf("VMAF (%s)", reports[0].VMAFModel)
	}
	return head, rows
}
