package access_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
	"github.com/ffrtmp/ffrtmp/worker/access"
)

type fixture struct {
	in, out, outside string
	p                *access.Policy
}

func setup(t *testing.T) fixture {
	t.Helper()
	base := t.TempDir()
	f := fixture{in: filepath.Join(base, "in"), out: filepath.Join(base, "out"), outside: filepath.Join(base, "secret")}
	for _, d := range []string{f.in, f.out, f.outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, file := range []string{filepath.Join(f.in, "a.mp4"), filepath.Join(f.outside, "b.mp4")} {
		if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Links that lead out of the roots.
	must(t, os.Symlink(filepath.Join(f.outside, "b.mp4"), filepath.Join(f.in, "link.mp4")))
	must(t, os.Symlink(f.outside, filepath.Join(f.out, "escape")))
	var err error
	f.p, err = access.New([]string{f.in}, []string{f.out}, nil, "")
	must(t, err)
	return f
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func job(input, target string) spec.Spec {
	return spec.Spec{Input: spec.Input{URL: input}, Outputs: []spec.Output{{Container: "mp4", Target: target}}}
}

func TestInputs(t *testing.T) {
	f := setup(t)
	ok := map[string]string{
		filepath.Join(f.in, "a.mp4"):             filepath.Join(f.in, "a.mp4"),
		"a.mp4":                                  filepath.Join(f.in, "a.mp4"), // relative: from the first root
		"file://" + filepath.Join(f.in, "a.mp4"): filepath.Join(f.in, "a.mp4"),
		"file:" + filepath.Join(f.in, "a.mp4"):   filepath.Join(f.in, "a.mp4"),
		"https://cdn.example/a.mp4":              "https://cdn.example/a.mp4",
		"rtmp://ingest/live/cam1":                "rtmp://ingest/live/cam1",
	}
	for in, want := range ok {
		s, err := f.p.Spec(job(in, "o.mp4"))
		if err != nil {
			t.Errorf("input %q refused: %v", in, err)
			continue
		}
		if s.Input.URL != want {
			t.Errorf("input %q opens %q, want %q", in, s.Input.URL, want)
		}
		if wl := s.Input.Options["protocol_whitelist"]; wl != "file,http,tcp,https,tls,rtmp,rtmps" {
			t.Errorf("protocol_whitelist %q", wl)
		}
	}
	refused := map[string]string{
		"/etc/shadow":                          "outside",
		"../secret/b.mp4":                      "outside",
		filepath.Join(f.in, "../secret/b.mp4"): "outside",
		"concat:" + filepath.Join(f.in, "a.mp4") + "|/etc/passwd": `protocol "concat"`,
		"subfile:,,start,0,end,0,,:/etc/shadow":                   `protocol "subfile"`,
		"file:/etc/shadow":                                        "outside",
		"file://" + filepath.Join(f.outside, "b.mp4"):             "outside",
		"file://host/etc/shadow":                                  "not a host",
		"link.mp4":                                                "outside", // a symlink out of the root
		"gopher://x/y":                                            `protocol "gopher"`,
		"missing.mp4":                                             "no such file",
		"":                                                        "empty",
	}
	for in, why := range refused {
		_, err := f.p.Spec(job(in, "o.mp4"))
		var r *access.Refused
		if !errors.As(err, &r) || r.Field != "input.url" || !strings.Contains(err.Error(), why) {
			t.Errorf("input %q: %v, want refused (%s)", in, err, why)
		}
	}
}

func TestOutputs(t *testing.T) {
	f := setup(t)
	for _, target := range []string{"o.mp4", filepath.Join(f.out, "new/dir/o.mp4"), "hls/ladder", "rtmp://cdn/app/key"} {
		s, err := f.p.Spec(job("a.mp4", target))
		if err != nil {
			t.Errorf("output %q refused: %v", target, err)
			continue
		}
		if got := s.Outputs[0].Target; !strings.HasPrefix(got, "rtmp://") && !strings.HasPrefix(got, f.out) {
			t.Errorf("output %q writes %q, outside %s", target, got, f.out)
		}
	}
	for target, why := range map[string]string{
		"/etc/cron.d/x":                "outside",
		"../in/overwrite.mp4":          "outside",
		"escape/b.mp4":                 "outside", // through a symlinked folder
		"escape/new/deeper.mp4":        "outside", // not yet existing, under the link
		"https://upload.example/o.mp4": `protocol "https"`,
		filepath.Join(f.in, "a.mp4"):   "outside", // inputs are not outputs
	} {
		_, err := f.p.Spec(job("a.mp4", target))
		var r *access.Refused
		if !errors.As(err, &r) || r.Field != "outputs[0].target" || !strings.Contains(err.Error(), why) {
			t.Errorf("output %q: %v, want refused (%s)", target, err, why)
		}
	}
	// A null output writes nothing.
	if _, err := f.p.Spec(spec.Spec{Input: spec.Input{URL: "a.mp4"}, Outputs: []spec.Output{{Container: "null"}}}); err != nil {
		t.Errorf("null output: %v", err)
	}
}

func TestJobCannotLoosenTheWhitelist(t *testing.T) {
	f := setup(t)
	s := job("a.mp4", "o.mp4")
	s.Input.Options = map[string]string{"protocol_whitelist": "file,concat,subfile"}
	if _, err := f.p.Spec(s); err == nil || !strings.Contains(err.Error(), "input.options.protocol_whitelist") {
		t.Errorf("a job's own protocol_whitelist: %v", err)
	}
	s = job("a.mp4", "o.mp4")
	s.Input.Format = "concat"
	if _, err := f.p.Spec(s); err == nil || !strings.Contains(err.Error(), "input.format") {
		t.Errorf("the concat demuxer: %v", err)
	}
}

func TestDefaultsToDataDir(t *testing.T) {
	data := t.TempDir()
	must(t, os.WriteFile(filepath.Join(data, "a.mp4"), []byte("x"), 0o644))
	p, err := access.New(nil, nil, []string{"file"}, data)
	must(t, err)
	if _, err := p.Spec(job("a.mp4", "o.mp4")); err != nil {
		t.Errorf("inside the data dir: %v", err)
	}
	if _, err := p.Spec(job("/etc/hostname", "o.mp4")); err == nil {
		t.Error("with no roots, a file outside the data dir was allowed")
	}
	if _, err := p.Spec(job("https://cdn.example/a.mp4", "o.mp4")); err == nil {
		t.Error("https allowed although only file is")
	}
	if wl := p.Whitelist(); wl != "file" {
		t.Errorf("whitelist %q", wl)
	}
	if _, err := access.New(nil, nil, nil, ""); err == nil {
		t.Error("no roots and no data dir accepted")
	}
	if _, err := access.New([]string{"/no/such/root"}, nil, nil, data); err == nil || !strings.Contains(err.Error(), "--input-roots") {
		t.Errorf("missing root: %v", err)
	}
	if _, err := access.New(nil, nil, []string{"concat"}, data); err == nil || !strings.Contains(err.Error(), "--protocols") {
		t.Errorf("protocol concat: %v", err)
	}
}

// A local input under a root that is not a regular file (a named pipe would hold the job in
// open(2)) fails with a terminal input error naming it; a link out of the roots is refused
// as before, whatever it points to.
func TestInputsMustBeRegularFiles(t *testing.T) {
	f := setup(t)
	fifo := filepath.Join(f.in, "pipe.ts")
	must(t, syscall.Mkfifo(fifo, 0o644))
	must(t, syscall.Mkfifo(filepath.Join(f.outside, "pipe.ts"), 0o644))
	must(t, os.Symlink(fifo, filepath.Join(f.in, "to-pipe.ts")))
	must(t, os.Symlink(filepath.Join(f.outside, "pipe.ts"), filepath.Join(f.in, "out-pipe.ts")))
	must(t, os.Mkdir(filepath.Join(f.in, "folder"), 0o755))
	for in, what := range map[string]string{
		fifo: "named pipe", "to-pipe.ts": "named pipe", "file://" + fifo: "named pipe", "folder": "folder",
	} {
		_, err := f.p.Spec(job(in, "x.mp4"))
		var nr *engine.NotRegularFileError
		if engine.KindOf(err) != engine.KindInput || !errors.As(err, &nr) || !strings.Contains(err.Error(), what) || !strings.Contains(err.Error(), f.in) {
			t.Errorf("input %q: %v, want an input error naming it as a %s", in, err, what)
		}
	}
	_, err := f.p.Spec(job("out-pipe.ts", "x.mp4"))
	var r *access.Refused
	if !errors.As(err, &r) || !strings.Contains(err.Error(), "outside") {
		t.Errorf("a link to a FIFO outside the roots: %v, want refused as outside", err)
	}
}
