package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ffrtmp/ffrtmp/api/redact"
	"github.com/ffrtmp/ffrtmp/engine"
	"golang.org/x/term"
)

// textReporter shows a live progress line on a terminal (plain lines every few seconds
// otherwise) on stderr, and a summary on stdout.
type textReporter struct {
	mu        sync.Mutex
	progress  io.Writer
	summary   io.Writer
	tty       bool
	lastPlain time.Time
	drawn     bool
}

func newTextReporter(progress, summary io.Writer) *textReporter {
	r := &textReporter{progress: progress, summary: summary}
	if f, ok := progress.(*os.File); ok {
		r.tty = term.IsTerminal(int(f.Fd()))
	}
	return r
}

func (r *textReporter) OnFrame(engine.FrameStats) {}

func (r *textReporter) OnProgress(p engine.Progress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	line := progressLine(p)
	switch {
	case r.tty:
		fmt.Fprintf(r.progress, "\r\033[K%s", line)
		r.drawn = true
		if p.Final {
			fmt.Fprintln(r.progress)
			r.drawn = false
		}
	case !p.Final && time.Since(r.lastPlain) >= 5*time.Second:
		fmt.Fprintln(r.progress, line)
		r.lastPlain = time.Now()
	}
}

func progressLine(p engine.Progress) string {
	var b strings.Builder
	if p.Percent >= 0 {
		fmt.Fprintf(&b, "%5.1f%%  ", p.Percent)
	}
	fmt.Fprintf(&b, "frame %d  %.1f fps  %.2fx  %s", p.Frames, p.FPS, p.Speed, clock(p.Position))
	if p.Duration > 0 {
		fmt.Fprintf(&b, "/%s", clock(p.Duration))
	}
	if p.ETA >= 0 && !p.Final {
		fmt.Fprintf(&b, "  eta %s", clock(p.ETA))
	}
	return b.String()
}

func clock(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

func (r *textReporter) done(res engine.Result) {
	w := r.summary
	fmt.Fprintf(w, "transcoded %s in %.1fs: %d frames, %.1f fps, %.2fx realtime\n",
		redact.URL(res.Input.URL), res.Elapsed.Seconds(), res.Frames, res.FPS, res.Speed)
	dec := res.Decoder.Video
	if res.Decoder.Hardware != "" {
		dec += " on " + res.Decoder.Hardware
	}
	if dec != "" {
		fmt.Fprintf(w, "decoder: %s\n", dec)
	}
	if res.Fallback != "" {
		fmt.Fprintf(w, "hardware fallback: %s\n", res.Fallback)
	}
	for _, t := range res.DroppedTracks {
		fmt.Fprintf(w, "dropped track: stream %d (%s): %s\n", t.Stream, t.Media, t.Reason)
	}
	for _, msg := range res.Warnings {
		fmt.Fprintf(w, "warning: %s\n", msg)
	}
	for _, o := range res.Outputs {
		where := redact.URL(o.Target) // an rtmp:// push names its stream key
		if o.Playlist != "" {
			where = o.Playlist
		}
		size := ""
		if o.Width > 0 {
			size = fmt.Sprintf("%dx%d", o.Width, o.Height)
		}
		fmt.Fprintf(w, "  %-8s %-10s %-9s %5d frames %8.0f kb/s  %s\n",
			o.Name, o.VideoEncoder, size, o.Frames, o.Bitrate/1000, where)
	}
	for _, m := range res.MasterPlaylists {
		fmt.Fprintf(w, "master playlist: %s\n", m)
	}
	for _, m := range res.DASHManifests {
		fmt.Fprintf(w, "DASH manifest: %s\n", m)
	}
}

func (r *textReporter) failed(error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.drawn {
		fmt.Fprintln(r.progress)
		r.drawn = false
	}
}

// jsonReporter writes one JSON object per line: progress events, then a result or an error.
type jsonReporter struct {
	mu sync.Mutex
	w  io.Writer
}

type jsonEvent struct {
	Type     string         `json:"type"`
	Progress *jsonProgress  `json:"progress,omitempty"`
	Result   *engine.Result `json:"result,omitempty"`
	Error    *jsonError     `json:"error,omitempty"`
}

type jsonProgress struct {
	ElapsedSeconds  float64                 `json:"elapsed_seconds"`
	PositionSeconds float64                 `json:"position_seconds"`
	DurationSeconds float64                 `json:"duration_seconds,omitempty"`
	Percent         float64                 `json:"percent"`
	ETASeconds      float64                 `json:"eta_seconds"`
	Frames          int64                   `json:"frames"`
	FPS             float64                 `json:"fps"`
	Speed           float64                 `json:"speed"`
	Final           bool                    `json:"final,omitempty"`
	Outputs         []engine.OutputProgress `json:"outputs"`
}

type jsonError struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

func (r *jsonReporter) emit(e jsonEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, _ := json.Marshal(e)
	r.w.Write(append(b, '\n'))
}

func (r *jsonReporter) OnFrame(engine.FrameStats) {}

func (r *jsonReporter) OnProgress(p engine.Progress) {
	eta := -1.0
	if p.ETA >= 0 {
		eta = p.ETA.Seconds()
	}
	r.emit(jsonEvent{Type: "progress", Progress: &jsonProgress{
		ElapsedSeconds: p.Elapsed.Seconds(), PositionSeconds: p.Position.Seconds(),
		DurationSeconds: p.Duration.Seconds(), Percent: p.Percent, ETASeconds: eta,
		Frames: p.Frames, FPS: p.FPS, Speed: p.Speed, Final: p.Final, Outputs: p.Outputs,
	}})
}

func (r *jsonReporter) done(res engine.Result) { r.emit(jsonEvent{Type: "result", Result: &res}) }

func (r *jsonReporter) failed(err error) {
	r.emit(jsonEvent{Type: "error", Error: &jsonError{Kind: string(engine.KindOf(err)), Message: err.Error()}})
}
