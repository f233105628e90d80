// Command bench-console measures the farm console in Debian's chromium on a busy farm: a
// master (built with CGO_ENABLED=0) holding a million jobs, a thousand of them running on
// simulated nodes that report progress every second. It times the jobs page's first render
// and watches its live updates for long tasks, prints a table and writes the results as
// JSON.
//
//	go run ./bench/cmd/bench-console -out bench/results [-quick] [-jobs 1000000] [-running 1000] [-watch 30s]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ffrtmp/ffrtmp/bench/consolebench"
)

func main() {
	out := flag.String("out", "bench/results", "folder for the JSON results and the cached job database")
	quick := flag.Bool("quick", false, "small sizes for a smoke run (50k jobs stored, 100 running, 5 s of updates, 2 loads)")
	jobs := flag.Int("jobs", 0, "jobs stored (default 1000000)")
	running := flag.Int("running", 0, "running jobs reporting progress every second (default 1000)")
	watch := flag.Duration("watch", 0, "how long the page takes live updates (default 30s)")
	loads := flag.Int("loads", 0, "first renders measured, after one warm-up load (default 5)")
	masterBin := flag.String("master", "", "run this ffrtmp-master binary instead of building one")
	chromium := flag.String("chromium", "", "the browser (default: chromium on PATH)")
	strict := flag.Bool("strict", false, "exit with status 3 when a target is missed")
	flag.Parse()

	opts := consolebench.Options{Jobs: *jobs, Running: *running, Watch: *watch, Loads: *loads, CacheDir: *out,
		MasterBin: *masterBin, Chromium: *chromium, Log: os.Stderr}
	if *quick {
		opts.Jobs, opts.Running, opts.Nodes, opts.Watch, opts.Loads = or(*jobs, 50_000), or(*running, 100), 5, time.Duration(or(int(*watch), int(5*time.Second))), or(*loads, 2)
	}
	if opts.Jobs < 0 || opts.Running < 0 || opts.Watch < 0 || opts.Loads < 0 {
		fail(fmt.Errorf("-jobs, -running, -watch and -loads must not be negative"))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := consolebench.Run(ctx, opts)
	if err != nil {
		fail(err)
	}
	path, err := rep.WriteJSON(*out)
	if err != nil {
		fail(err)
	}
	fmt.Printf("\nmachine: %s, %d cores, load %s; commit %s\nbrowser: %s\n\n", rep.Machine.CPU, rep.Machine.Cores, rep.Machine.LoadAverage, rep.Commit, rep.Browser)
	rep.WriteTable(os.Stdout)
	fmt.Printf("\nresults: %s\n", path)
	if !rep.Pass {
		fmt.Println("some targets were missed (see the OK column)")
		if *strict {
			os.Exit(3)
		}
	}
}

// or is v, or def when v is 0.
func or(v, def int) int {
	if v != 0 {
		return v
	}
	return def
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench-console:", err)
	os.Exit(1)
}
