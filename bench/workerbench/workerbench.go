// Package workerbench measures what running each job in an executor process costs a worker:
// the start-up overhead per job against engine.Run in-process, and the throughput of N
// concurrent executor jobs against N concurrent ffmpeg processes with equal settings.
package workerbench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/ffrtmp/ffrtmp/worker/executor"
)

// execSubcommand is the hidden subcommand of ffrtmp-worker that runs executor.Main.
const execSubcommand = "exec"

// BuildWorker builds cmd/ffrtmp-worker of this module into dir and returns the binary's path:
// the executor the benchmark runs is the one the worker would start.
func BuildWorker(ctx context.Context, dir string) (string, error) {
	gomod, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the module root (go env GOMOD): %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(gomod)))
	if root == "." || root == "" {
		return "", fmt.Errorf("not inside the ffrtmp module: run from the repository")
	}
	bin := filepath.Join(dir, "ffrtmp-worker")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/ffrtmp-worker")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/ffrtmp-worker: %w\n%s", err, out)
	}
	return bin, nil
}

// Executor is the command that starts an executor child, as the worker does.
func Executor(bin string) executor.Command {
	return executor.Command{Path: bin, Args: []string{execSubcommand}}
}

// runExecutor runs req in an executor child and turns any end but completed into an error.
func runExecutor(ctx context.Context, cmd executor.Command, req executor.Request) error {
	o, err := executor.Run(ctx, cmd, req, executor.Options{})
	if err != nil {
		return err
	}
	if o.End != executor.EndCompleted {
		return fmt.Errorf("executor %s: %s", o.End, o.Error())
	}
	return nil
}

// checkBinary fails early, with the reason, when bin cannot be the executor.
func checkBinary(bin string) error {
	fi, err := os.Stat(bin)
	if err != nil {
		return fmt.Errorf("the ffrtmp-worker binary: %w", err)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("the ffrtmp-worker binary %s is not an executable file", bin)
	}
	return nil
}
