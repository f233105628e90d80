package api_test

import (
	"bytes"
	"context"
	"go/doc/comment"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestPackageDocExampleBuildsAlone: the program in the package doc builds in a fresh module
// that requires this module only (replaced by this folder, nothing fetched), without cgo, and
// that module's graph holds nothing else: an API user's `go get` brings none of the farm's
// dependencies (go-astiav, OpenTelemetry, gonum/plot, ...). A dependency added to api/go.mod
// fails this test until it is listed here on purpose.
func TestPackageDocExampleBuildsAlone(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("the go command is not on PATH: %v", err)
	}
	apiDir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	src := docProgram(t, filepath.Join(apiDir, "doc.go"))

	dir := t.TempDir()
	gomod := "module example.com/submit\n\ngo 1.26.0\n\n" +
		"require github.com/ffrtmp/ffrtmp/api v0.0.0-00010101000000-000000000000\n\n" +
		"replace github.com/ffrtmp/ffrtmp/api => " + apiDir + "\n"
	writeFile(t, filepath.Join(dir, "go.mod"), gomod)
	writeFile(t, filepath.Join(dir, "main.go"), src)
	if sum, err := os.ReadFile(filepath.Join(apiDir, "go.sum")); err == nil {
		writeFile(t, filepath.Join(dir, "go.sum"), string(sum))
	}

	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, gobin, args...)
		cmd.Dir = dir
		// Only this folder and the module cache: no proxy, no workspace, no other toolchain.
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off",
			"GOTOOLCHAIN=local", "CGO_ENABLED=0")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("go %s in a module requiring only the API module: %v\n%s\nmain.go:\n%s",
				strings.Join(args, " "), err, out.String(), src)
		}
		return out.String()
	}
	run("build", "-o", filepath.Join(dir, "submit"), ".")
	run("vet", ".")

	var mods []string
	for _, l := range strings.Split(strings.TrimSpace(run("list", "-m", "-f", "{{.Path}}", "all")), "\n") {
		mods = append(mods, strings.TrimSpace(l))
	}
	want := []string{"example.com/submit", "github.com/ffrtmp/ffrtmp/api"}
	if !slices.Equal(mods, want) {
		t.Errorf("an API user's module graph (go list -m all) = %q, want only %q: the API module must need nothing but the standard library", mods, want)
	}
}

// docProgram returns the code block of file's package doc that is a whole program.
func docProgram(t *testing.T, file string) string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	if f.Doc == nil {
		t.Fatalf("%s has no package doc", file)
	}
	var p comment.Parser
	for _, b := range p.Parse(f.Doc.Text()).Content {
		if c, ok := b.(*comment.Code); ok && strings.HasPrefix(c.Text, "package main\n") {
			return c.Text
		}
	}
	t.Fatalf("the package doc in %s holds no example program (a code block starting with \"package main\")", file)
	return ""
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
