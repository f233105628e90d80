package worker_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine/enginetest"
)

// Every file of a corpus of damaged media, through a real master and worker (2 slots, an
// executor process per job), ends completed (with a warning event for what was repaired or
// dropped) or cleanly failed: code input, terminal, not retried, the message naming the
// input, nothing left behind, within a time bound.
func TestCorruptMediaCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("transcodes a corpus of damaged files")
	}
	f := start(t, 5*time.Second)
	files := enginetest.Corpus(t, f.in, 12)
	if len(files) < 20 {
		t.Fatalf("corpus of %d files, want 20 or more", len(files))
	}
	jobs := map[string]enginetest.File{}
	for _, c := range files {
		s := spec.Spec{Input: spec.Input{URL: c.Path}, Outputs: []spec.Output{
			{Name: "mp4", Target: c.Name + ".mp4", Video: &spec.Video{Preset: "ultrafast"}},
			{Name: "flv", Target: c.Name + ".flv", Video: &spec.Video{Preset: "ultrafast", Height: 90}},
		}}
		jobs[f.submit(t, s).ID] = c
	}

	const perJob = 30 * time.Second // one job, once started, on a loaded 2-core machine
	deadline := time.Now().Add(time.Duration(len(files)) * perJob / 2)
	completed, failed := 0, 0
	for id, c := range jobs {
		j := f.waitUntil(t, id, deadline, api.StatusCompleted, api.StatusFailed)
		if j.StartedAt != nil && j.FinishedAt != nil && j.FinishedAt.Sub(*j.StartedAt) > perJob {
			t.Errorf("%s (%s): took %s, more than %s", c.Name, c.Damage, j.FinishedAt.Sub(*j.StartedAt), perJob)
		}
		if j.Attempts != 1 {
			t.Errorf("%s (%s): %d attempts; damaged input is not worth a retry", c.Name, c.Damage, j.Attempts)
		}
		evs, err := f.sub.JobEvents(context.Background(), id, 0, 200)
		if err != nil {
			t.Fatal(err)
		}
		var warnings []string
		for _, e := range evs.Events {
			if e.Type == api.EventWarning {
				warnings = append(warnings, e.Message)
			}
		}
		switch j.Status {
		case api.StatusCompleted:
			completed++
			t.Logf("%-28s completed; warnings %q", c.Name, warnings)
			for _, out := range []string{c.Name + ".mp4", c.Name + ".flv"} {
				if fi, err := os.Stat(filepath.Join(f.out, out)); err != nil || fi.Size() == 0 {
					t.Errorf("%s completed without its output %s: %v", c.Name, out, err)
				}
			}
			if j.Result != nil && len(j.Result.DroppedTracks) > 0 && !mentions(warnings, "cannot be read") {
				t.Errorf("%s: dropped %+v without a warning event (warnings %q)", c.Name, j.Result.DroppedTracks, warnings)
			}
			for _, w := range warnings {
				if !strings.Contains(w, c.Path) {
					t.Errorf("%s: warning %q does not name the input", c.Name, w)
				}
			}
		case api.StatusFailed:
			failed++
			t.Logf("%-28s failed: %s", c.Name, j.Error.Message)
			if j.Error.Code != "input" || j.Error.Transient {
				t.Errorf("%s (%s): error %+v, want a terminal error of code input", c.Name, c.Damage, j.Error)
			}
			if !strings.Contains(j.Error.Message, c.Path) {
				t.Errorf("%s: message %q does not name the input %s", c.Name, j.Error.Message, c.Path)
			}
			for _, bad := range []string{"Operation not permitted", "Cannot allocate memory", "Input/output error"} {
				if strings.Contains(j.Error.Message, bad) && !strings.Contains(j.Error.Message, "libav: "+bad) {
					t.Errorf("%s: message %q gives libav's %q as what happened", c.Name, j.Error.Message, bad)
				}
			}
			left, _ := filepath.Glob(filepath.Join(f.out, c.Name+"*"))
			if len(left) > 0 {
				t.Errorf("%s failed but left %v behind", c.Name, left)
			}
		}
	}
	t.Logf("%d completed, %d failed", completed, failed)

	// The shuffled FLV (audio timestamps going backwards, once blamed on an output):
	// repaired, with warnings naming the input's streams.
	for id, c := range jobs {
		if c.Name != "flv-shuffled" {
			continue
		}
		evs, err := f.sub.JobEvents(context.Background(), id, 0, 200)
		if err != nil {
			t.Fatal(err)
		}
		var warned bool
		for _, e := range evs.Events {
			warned = warned || e.Type == api.EventWarning && strings.Contains(e.Message, "stream 1 (audio, aac): timestamps go backwards at ")
		}
		if !warned {
			t.Errorf("%s: no warning about the audio timestamps in %+v", c.Name, evs.Events)
		}
	}
	// The mp4 whose audio sample entry is unknown: video with a word about the audio.
	for id, c := range jobs {
		if c.Name != "mp4-unknown-audio-codec" {
			continue
		}
		j, err := f.sub.GetJob(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status != api.StatusCompleted || j.Result == nil || len(j.Result.DroppedTracks) != 1 || j.Result.DroppedTracks[0].Media != "audio" {
			t.Errorf("%s: %s, result %+v, error %+v; want completed with the audio track dropped", c.Name, j.Status, j.Result, j.Error)
		}
	}
}

// An input whose audio cannot be read fails the job when the spec marks audio required.
func TestRequiredAudioUnreadableFails(t *testing.T) {
	f := start(t, 5*time.Second)
	src := enginetest.Sources(t, t.TempDir())
	b, err := os.ReadFile(src["mp4"])
	if err != nil {
		t.Fatal(err)
	}
	b, ok := enginetest.UnknownAudio(b)
	if !ok {
		t.Fatal("no AAC sample entry in the source")
	}
	in := filepath.Join(f.in, "noaudio.mp4")
	if err := os.WriteFile(in, b, 0o644); err != nil {
		t.Fatal(err)
	}
	j := f.submit(t, spec.Spec{Input: spec.Input{URL: in}, Outputs: []spec.Output{{Target: "req.mp4",
		Video: &spec.Video{Preset: "ultrafast"}, Audio: &spec.Audio{Codec: "aac", Required: true}}}})
	done := f.wait(t, j.ID, api.StatusCompleted, api.StatusFailed)
	if done.Status != api.StatusFailed || done.Error.Code != "input" || done.Attempts != 1 ||
		!strings.Contains(done.Error.Message, in) || !strings.Contains(done.Error.Message, "stream 1 (audio") ||
		!strings.Contains(done.Error.Message, "outputs[0].audio.required") {
		t.Fatalf("job %s after %d attempts: %+v; want failed (input) naming the input, its audio stream and the required field", done.Status, done.Attempts, done.Error)
	}
	if left, _ := filepath.Glob(filepath.Join(f.out, "req*")); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}

func mentions(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// waitUntil is wait with a deadline of the caller's.
func (f *farm) waitUntil(t *testing.T, id string, deadline time.Time, want ...api.Status) api.Job {
	t.Helper()
	for {
		j, err := f.sub.GetJob(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if j.Status == w {
				return *j
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s is %s (%+v), want %v", id, j.Status, j.Error, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
