package main

// The demo of `ffrtmp run --demo`: one job into an HLS ladder, its progress shown as lines.

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
)

// demoLadder is the demo job's renditions.
const demoLadder = "1080p,720p,480p"

// demoSpec is the demo job: a synthetic 1920x1080 30 fps 10 s source into a 1080p, 720p and
// 480p HLS ladder with libx264 veryfast, as `ffrtmp transcode --ladder 1080p,720p,480p --hls`
// builds it.
func demoSpec(target string) (spec.Spec, error) {
	s := spec.Spec{Input: spec.Input{Synthetic: &spec.Synthetic{Width: 1920, Height: 1080, FPS: spec.Rate{Num: 30, Den: 1}, Duration: 10}},
		Hardware: spec.Hardware{Mode: spec.HardwareNone}}
	base := spec.Output{Target: target, Container: "hls", Video: &spec.Video{Codec: "libx264", Preset: "veryfast"}, Audio: &spec.Audio{Codec: "aac"}}
	var err error
	s.Outputs, err = spec.LadderOutputs(demoLadder, base)
	return s, err
}

// startDemo runs the demo in the background with the user's key, until ctx ends.
func startDemo(ctx context.Context, apiURL, key, caFile string, p runPaths, w io.Writer) {
	c, err := runLocalClient(apiURL, key, caFile)
	if err != nil {
		fmt.Fprintf(w, "demo: %v\n", err)
		return
	}
	go runDemo(ctx, c, p.outputRoots[0], p.start, w)
}

// runDemo submits the demo job and prints its progress as lines until it ends.
func runDemo(ctx context.Context, c *api.Client, outRoot, start string, w io.Writer) {
	dir := filepath.Join(outRoot, "demo")
	s, err := demoSpec(dir)
	if err != nil {
		fmt.Fprintf(w, "demo: %v\n", err)
		return
	}
	job, err := c.SubmitJob(ctx, api.JobRequest{Spec: &s, Labels: map[string]string{"demo": "true"}}, "")
	if err != nil {
		if ctx.Err() == nil {
			fmt.Fprintf(w, "demo: submit: %v\n", err)
		}
		return
	}
	fmt.Fprintf(w, "demo: job %s: synthetic 1920x1080 30 fps, 10 s → HLS %s (libx264 veryfast)\n", job.ID, demoLadder)
	last := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		j, err := c.GetJob(ctx, job.ID)
		if err != nil {
			if ctx.Err() == nil {
				fmt.Fprintf(w, "demo: %v\n", err)
			}
			return
		}
		switch j.Status {
		case api.StatusCompleted:
			took := ""
			if j.StartedAt != nil && j.FinishedAt != nil {
				took = fmt.Sprintf(" in %.1fs", j.FinishedAt.Sub(*j.StartedAt).Seconds())
			}
			fmt.Fprintf(w, "demo: done%s; master playlist: %s\n", took, displayPath(start, filepath.Join(dir, "master.m3u8")))
			return
		case api.StatusFailed, api.StatusCanceled:
			why := ""
			if j.Error != nil {
				why = ": " + j.Error.Message
			}
			fmt.Fprintf(w, "demo: %s%s (ffrtmp jobs get %s)\n", j.Status, why, j.ID)
			return
		}
		line := demoProgressLine(j)
		if line != last {
			fmt.Fprintln(w, line)
			last = line
		}
	}
}

func demoProgressLine(j *api.Job) string {
	p := j.Progress
	if p == nil || j.Status != api.StatusRunning {
		return fmt.Sprintf("demo: %s", j.Status)
	}
	eta := "?"
	if p.ETA != nil {
		eta = fmt.Sprintf("%.0fs", *p.ETA)
	}
	return fmt.Sprintf("demo: %5.1f%%  %6.1f fps  %5.2fx  ETA %s", p.Percent, p.FPS, p.Speed, eta)
}
