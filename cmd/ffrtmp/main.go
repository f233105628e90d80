// Command ffrtmp is the ffrtmp command line: local transcoding and probing today, the farm's
// client and all-in-one runner as they land.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/ffrtmp/ffrtmp/bench/harness"
	"github.com/ffrtmp/ffrtmp/cmd/internal/mastercmd"
	"github.com/ffrtmp/ffrtmp/cmd/internal/workercmd"
	"github.com/ffrtmp/ffrtmp/worker/executor"
)

func main() {
	// An executor child of `ffrtmp worker` or `ffrtmp run`: no flags, no config, the job on
	// stdin (the same hidden argument as ffrtmp-worker's).
	if len(os.Args) > 1 && os.Args[1] == workercmd.ExecArg {
		os.Exit(executor.Main(os.Stdin, os.Stdout))
	}
	// A measured run of `ffrtmp bench`, in a process of its own.
	if len(os.Args) > 1 && os.Args[1] == harness.ChildArg {
		os.Exit(harness.ChildMain(os.Stdin, os.Stdout))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// libav's own log lines are shown with --verbose; errors carry what libav said anyway.
	level := slog.LevelError + 1
	for _, a := range args {
		if a == "-v" || a == "--verbose" {
			level = slog.LevelInfo
		}
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})))

	root := newRootCmd(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "ffrtmp: %v\n", err)
	return exitCode(err)
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "ffrtmp",
		Short:         "ffrtmp transcodes video in-process through FFmpeg's libraries",
		SilenceUsage:  true,
		SilenceErrors: true,
		// Unknown subcommands are usage errors too.
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	root.PersistentFlags().BoolP("verbose", "v", false, "show libav's warnings and info lines")
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	// Local work, no master needed.
	root.AddCommand(newTranscodeCmd())
	root.AddCommand(newProbeCmd())
	root.AddCommand(newQualityCmd())
	root.AddCommand(newHWCmd())
	root.AddCommand(newBenchCmd())
	root.AddCommand(newVersionCmd())
	// The daemons, as subcommands.
	master := mastercmd.New("master")
	master.AddCommand(newMasterBackupCmd())
	root.AddCommand(master)
	root.AddCommand(workercmd.New("worker"))
	root.AddCommand(newRunCmd())
	root.AddCommand(newIngestCmd())
	// The farm's client commands.
	root.AddCommand(newJobsCmd())
	root.AddCommand(newNodesCmd())
	root.AddCommand(newClusterCmd())
	root.AddCommand(newPresetsCmd())
	// Help: the hidden generator of doc/config.md, then shell completion (last: it looks at
	// the commands above).
	root.AddCommand(newDocsCmd())
	addCompletion(root)
	for _, c := range root.Commands() {
		wrapArgsAsUsage(c)
	}
	return root
}

// wrapArgsAsUsage makes cobra's positional-argument errors usage errors (exit 2), for c and
// every command below it.
func wrapArgsAsUsage(c *cobra.Command) {
	for _, sub := range c.Commands() {
		wrapArgsAsUsage(sub)
	}
	if c.Args == nil {
		return
	}
	check := c.Args
	c.Args = func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageError{fmt.Errorf("%w (see '%s --help')", err, cmd.CommandPath())}
		}
		return nil
	}
}
