package engine_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
)

// liveMasterProbe reads the master playlist when the first frame is encoded, that is while
// the run is going on.
type liveMasterProbe struct {
	path string
	once sync.Once
	mu   sync.Mutex
	text string
	err  error
}

func (p *liveMasterProbe) OnFrame(engine.FrameStats) {
	p.once.Do(func() {
		b, err := os.ReadFile(p.path)
		p.mu.Lock()
		p.text, p.err = string(b), err
		p.mu.Unlock()
	})
}

func (p *liveMasterProbe) OnProgress(engine.Progress) {}

func TestLiveHLSMasterWhileRunning(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	outs := ladder(t, "hls", dir)
	for i := range outs {
		outs[i].HLS = &spec.HLS{SegmentSeconds: 1, PlaylistSize: 6}
		outs[i].Video.Bitrate = spec.Bitrate(400_000 * (len(outs) - i))
	}
	master := filepath.Join(dir, "master.m3u8")
	probe := &liveMasterProbe{path: master}
	res := run(t, spec.Spec{Input: synthetic(854, 480, 2), Outputs: outs}, probe)

	probe.mu.Lock()
	early, err := probe.text, probe.err
	probe.mu.Unlock()
	if err != nil {
		t.Fatalf("no master playlist while the run was going on: %v", err)
	}
	if !strings.Contains(early, "#EXTM3U") {
		t.Fatalf("early master playlist:\n%s", early)
	}
	// The early playlist lists every rung from its configuration.
	path := filepath.Join(t.TempDir(), "early.m3u8")
	if err := os.WriteFile(path, []byte(early), 0o644); err != nil {
		t.Fatal(err)
	}
	vs := readMaster(t, path)
	if len(vs) != len(testRungs) {
		t.Fatalf("early master lists %d variants, want %d:\n%s", len(vs), len(testRungs), early)
	}
	for i, r := range testRungs {
		v := vs[i] // highest bandwidth first, as configured
		if v.uri != r.name+"/index.m3u8" {
			t.Errorf("variant %d: %s, want %s/index.m3u8", i, v.uri, r.name)
		}
		want := strconv.Itoa(r.width) + "x" + strconv.Itoa(r.height)
		if v.attrs["RESOLUTION"] != want {
			t.Errorf("%s: RESOLUTION %s, want %s", r.name, v.attrs["RESOLUTION"], want)
		}
		if !strings.HasPrefix(v.attrs["CODECS"], "avc1.") || !strings.Contains(v.attrs["CODECS"], "mp4a.40.2") {
			t.Errorf("%s: CODECS %q, want avc1 and mp4a", r.name, v.attrs["CODECS"])
		}
		if v.attrs["BANDWIDTH"] == "" || v.attrs["FRAME-RATE"] == "" {
			t.Errorf("%s: attributes %v lack BANDWIDTH or FRAME-RATE", r.name, v.attrs)
		}
	}

	// At the end it is rewritten from the measured segments.
	if len(res.MasterPlaylists) != 1 || res.MasterPlaylists[0] != master {
		t.Fatalf("MasterPlaylists %v, want [%s]", res.MasterPlaylists, master)
	}
	final, err := os.ReadFile(master)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(final), "AVERAGE-BANDWIDTH=") {
		t.Errorf("final master playlist is not the measured one:\n%s", final)
	}
	for _, name := range dirEntries(t, dir) {
		if strings.Contains(name, ".partial-") {
			t.Errorf("left behind %s", name)
		}
	}
}

// TestLiveHLSMasterRemovedOnFailure: a live run that fails takes its early master playlist
// with it.
func TestLiveHLSMasterRemovedOnFailure(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	outs := ladder(t, "hls", dir)
	for i := range outs {
		outs[i].HLS = &spec.HLS{SegmentSeconds: 1, PlaylistSize: 6}
	}
	// A null output whose preset libx264 rejects fails the run when its encoder opens, on the
	// first frame: after the master playlist was written.
	outs = append(outs, spec.Output{Name: "bad", Container: "null", Video: &spec.Video{Preset: "nosuchpreset"}})
	probe := &liveMasterProbe{path: filepath.Join(dir, "master.m3u8")}
	_, err := engine.Run(t.Context(), spec.Spec{Input: synthetic(320, 240, 2), Outputs: outs}, probe)
	if err == nil {
		t.Fatal("run with a bad encoder option succeeded")
	}
	if _, serr := os.Stat(filepath.Join(dir, "master.m3u8")); !os.IsNotExist(serr) {
		t.Errorf("master playlist left behind after %v (stat: %v)", err, serr)
	}
}

// TestLiveCMAFLadder: a live ladder in CMAF segments, its audio in a rendition of its own (a
// cmaf stream's live job): the master playlist written before the first segment names the
// audio as an EXT-X-MEDIA group on every video variant, with the codecs the configuration
// says (10-bit AV1 at its level), and the renditions are fMP4 segments after an init.mp4.
func TestLiveCMAFLadder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	outs, err := spec.LadderOutputs("360p,240p", spec.Output{Container: "cmaf", Target: dir,
		Video: &spec.Video{Codec: "libsvtav1", Preset: "12", GOP: 1, PixFmt: spec.PixFmt10Bit}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range outs { // what a cmaf stream's live job gets
		outs[i].Container = "hls"
		outs[i].HLS = &spec.HLS{SegmentType: spec.SegmentFMP4, SegmentSeconds: 1, PlaylistSize: 6}
	}
	master := filepath.Join(dir, "master.m3u8")
	probe := &liveMasterProbe{path: master}
	run(t, spec.Spec{Input: synthetic(640, 360, 2), Outputs: outs}, probe)
	probe.mu.Lock()
	early, err := probe.text, probe.err
	probe.mu.Unlock()
	if err != nil {
		t.Fatalf("no master playlist while the run was going on: %v", err)
	}
	if !strings.Contains(early, `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="audio",DEFAULT=YES,AUTOSELECT=YES,URI="audio/index.m3u8"`) {
		t.Errorf("early master playlist without the audio group:\n%s", early)
	}
	path := filepath.Join(t.TempDir(), "early.m3u8")
	if err := os.WriteFile(path, []byte(early), 0o644); err != nil {
		t.Fatal(err)
	}
	vs := readMaster(t, path)
	if len(vs) != 2 {
		t.Fatalf("early master lists %d variants, want the two video rungs:\n%s", len(vs), early)
	}
	for _, v := range vs {
		if v.attrs["CODECS"] != "av01.0.08M.10,mp4a.40.2" || v.attrs["AUDIO"] != "audio" {
			t.Errorf("%s: CODECS %q AUDIO %q, want av01.0.08M.10,mp4a.40.2 and the audio group", v.uri, v.attrs["CODECS"], v.attrs["AUDIO"])
		}
	}
	for _, name := range []string{"360p", "240p", "audio"} {
		segs := segments(t, filepath.Join(dir, name, "index.m3u8"))
		if len(segs) == 0 || !strings.HasSuffix(segs[0], ".m4s") {
			t.Errorf("%s: segments %v, want fMP4", name, segs)
		}
		if _, err := os.Stat(filepath.Join(dir, name, "init.mp4")); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
