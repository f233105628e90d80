// Command bench-master measures the master under load: it builds ffrtmp-master with
// CGO_ENABLED=0, runs it on loopback with fsync on, drives it from this process, prints a
// table and writes the results as JSON.
//
//	go run ./bench/cmd/bench-master -out bench/results [-quick] [-duration 10s] [-clients 64] [-cases submit,lease,list]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/ffrtmp/ffrtmp/bench/masterbench"
)

func main() {
	out := flag.String("out", "bench/results", "folder for the JSON results and the cached list database")
	quick := flag.Bool("quick", false, "small sizes for a smoke run (2 s of submits, 10k queued, 50k listed)")
	duration := flag.Duration("duration", 0, "measured submit time (default 10s, 2s with -quick)")
	clients := flag.Int("clients", 0, "concurrent submit clients (default 64)")
	casesFlag := flag.String("cases", strings.Join(masterbench.Cases, ","), "cases to run: "+strings.Join(masterbench.Cases, ", "))
	masterBin := flag.String("master", "", "run this ffrtmp-master binary instead of building one (to compare builds)")
	keep := flag.Bool("keep", false, "keep the temporary folder (master binary, databases, master logs)")
	strict := flag.Bool("strict", false, "exit with status 3 when a target is missed")
	profDir := flag.String("cpuprofile", "", "folder for CPU profiles: master-<case>.cpu.prof of each master, loadgen.cpu.prof of this process")
	flag.Parse()

	p := masterbench.FullProfile()
	if *quick {
		p = masterbench.QuickProfile()
	}
	if *duration < 0 || *clients < 0 {
		fail(fmt.Errorf("-duration and -clients must not be negative"))
	}
	if *duration > 0 {
		p.Duration = *duration
	}
	if *clients > 0 {
		p.Clients = *clients
	}
	cases := strings.Split(*casesFlag, ",")
	if err := masterbench.CheckCases(cases); err != nil {
		fail(err)
	}
	pass, err := run(masterbench.Options{Profile: p, Cases: cases, CacheDir: *out, KeepTemp: *keep, MasterBin: *masterBin, Log: os.Stderr}, *profDir)
	if err != nil {
		fail(err)
	}
	if !pass && *strict {
		os.Exit(3)
	}
}

func run(opts masterbench.Options, profDir string) (bool, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if profDir != "" {
		abs, err := filepath.Abs(profDir)
		if err != nil {
			return false, err
		}
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return false, err
		}
		f, err := os.Create(filepath.Join(abs, "loadgen.cpu.prof"))
		if err != nil {
			return false, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return false, err
		}
		defer pprof.StopCPUProfile()
		opts.ProfileDir = abs
	}
	rep, err := masterbench.Run(ctx, opts)
	if err != nil {
		return false, err
	}
	path, err := rep.WriteJSON(opts.CacheDir)
	if err != nil {
		return false, err
	}
	fmt.Println()
	for _, c := range rep.Cases {
		fmt.Printf("%s: %s\n", c.Name, c.Description)
		for _, s := range c.Setup {
			fmt.Printf("  %s\n", s)
		}
	}
	fmt.Printf("machine: %s, %d cores, %s, commit %s, load %s, fsync %.2f ms\n\n", rep.Machine.CPU, rep.Machine.Cores,
		rep.Machine.GoVersion, rep.Machine.Commit, rep.Machine.LoadAverage, rep.Machine.FsyncMs)
	rep.WriteTable(os.Stdout)
	fmt.Printf("results: %s (and %s)\n", path, filepath.Join(opts.CacheDir, "master-latest.json"))
	if !rep.Pass {
		fmt.Println("some targets were missed (see the ok column)")
	}
	return rep.Pass, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench-master:", err)
	os.Exit(1)
}
