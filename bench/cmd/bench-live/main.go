// Command bench-live measures live latency through `ffrtmp run`: a realtime 720p30 source
// published over RTMP, transcoded into a 720p + 360p ladder written as live HLS and
// restreamed over RTMP to a sink in this process. It prints RTMP→RTMP glass-to-glass latency
// (p50/p95/max), HLS segment availability latency and the realtime ratio against the targets
// of issue 6, and writes the results as JSON.
//
//	go run ./bench/cmd/bench-live -out bench/results [-ffrtmp bin/ffrtmp] [-duration 60s | -quick] [-strict]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"time"

	"github.com/ffrtmp/ffrtmp/bench/enginebench"
	"github.com/ffrtmp/ffrtmp/bench/livebench"
)

func main() {
	out := flag.String("out", "bench/results", "folder for the JSON results, the cached source and the farm's temporary folder")
	duration := flag.Duration("duration", 60*time.Second, "how long the source publishes")
	quick := flag.Bool("quick", false, "a smoke run: -duration 15s")
	ffrtmp := flag.String("ffrtmp", "", "the ffrtmp binary to run (default: build one from this tree)")
	strict := flag.Bool("strict", false, "exit with status 3 when a target is missed")
	preset := flag.String("preset", "veryfast", "libx264 preset of the ladder (a faster one leaves a small machine headroom to catch up)")
	tune := flag.String("tune", "", "libx264 tune of the ladder (default: the farm tunes live jobs with zerolatency; e.g. film to measure without it)")
	flag.Parse()
	if *quick {
		*duration = 15 * time.Second
	}
	if *duration < 5*time.Second || *duration > time.Hour {
		fail(fmt.Errorf("-duration %v: want 5s..1h", *duration))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	pass, err := run(ctx, *out, *ffrtmp, *duration, *preset, *tune)
	if err != nil {
		fail(err)
	}
	if !pass && *strict {
		os.Exit(3)
	}
}

func run(ctx context.Context, out, bin string, duration time.Duration, preset, tune string) (bool, error) {
	ff, err := enginebench.FindFFmpeg(ctx)
	if err != nil {
		return false, err
	}
	machine := enginebench.DetectMachine(ff)
	fmt.Printf("machine: %s, %d cores, %s, engine FFmpeg %s (load %s)\n",
		machine.CPU, machine.Cores, machine.GoVersion, machine.Engine.FFmpeg, machine.LoadAverage)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return false, err
	}
	tmp, err := os.MkdirTemp(out, "tmp-live-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)
	if bin == "" {
		bin = filepath.Join(tmp, "ffrtmp")
		fmt.Println("building ffrtmp...")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/ffrtmp")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return false, fmt.Errorf("build ffrtmp (or pass -ffrtmp): %w", err)
		}
	} else if bin, err = filepath.Abs(bin); err != nil {
		return false, err
	}
	if _, err := os.Stat(bin); err != nil {
		return false, errors.New("the ffrtmp binary is missing: run `make build` or pass -ffrtmp")
	}
	r, err := livebench.Run(ctx, machine, livebench.Options{Ffrtmp: bin, FFmpeg: ff.Path, Duration: duration, Preset: preset, Tune: tune,
		InputDir: filepath.Join(out, "input"), TempDir: tmp, Log: os.Stderr})
	if err != nil {
		return false, err
	}
	fmt.Println()
	r.WriteTable(os.Stdout)
	path, err := r.WriteJSON(out)
	if err != nil {
		return false, err
	}
	fmt.Printf("\nwrote %s\n", path)
	return r.Pass, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench-live:", err)
	os.Exit(1)
}
