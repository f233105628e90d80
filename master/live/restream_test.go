package live_test

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/master/catalog"
	"github.com/ffrtmp/ffrtmp/master/farm"
	"github.com/ffrtmp/ffrtmp/master/fault"
	"github.com/ffrtmp/ffrtmp/master/live"
)

// A live stream's job pushes its top rung to each destination, with reconnection, next to
// the HLS ladder; the result is a spec the engine accepts.
func TestStreamJobRestreamsToDestinations(t *testing.T) {
	e := startStreams(t, "", nil)
	dests := []string{"rtmp://a.example/live/k1", "rtmps://b.example:443/app/k2"}
	cam, err := e.s.CreateStream(e.ctx, farm.Admin("test"), api.StreamRequest{Name: "cam", Preset: "abr-480p", Destinations: dests})
	if err != nil {
		t.Fatal(err)
	}
	plain := e.create("plain")

	job, err := e.farm.Get(e.ctx, farm.Admin("test"), e.get(e.publish(cam.StreamKey)).JobID)
	if err != nil {
		t.Fatal(err)
	}
	outs := job.Spec.Outputs
	if len(outs) != 3+len(dests) {
		t.Fatalf("%d outputs, want the 3 rungs and %d restreams", len(outs), len(dests))
	}
	top := outs[0]
	for _, o := range outs[:3] {
		if o.Container != "hls" || o.Reconnect != nil {
			t.Errorf("ladder output %q: container %s, reconnect %v; want hls without reconnect", o.Name, o.Container, o.Reconnect)
		}
		if o.Video.Height > top.Video.Height {
			top = o
		}
	}
	for i, d := range dests {
		o := outs[3+i]
		if o.Target != d || o.Container != "flv" || o.Reconnect == nil || o.Reconnect.MaxBackoffSeconds != spec.DefaultMaxBackoffSeconds {
			t.Errorf("restream %d: target %q container %q reconnect %+v; want %q, flv, reconnecting", i, o.Target, o.Container, o.Reconnect, d)
		}
		if o.Video == nil || o.Video.Height != top.Video.Height || o.Video.Codec != top.Video.Codec || o.Video.Bitrate != top.Video.Bitrate {
			t.Errorf("restream %d video %+v, want the top rung's %+v", i, o.Video, top.Video)
		}
		if o.Audio == nil || o.Audio.Codec != "aac" {
			t.Errorf("restream %d audio %+v, want aac", i, o.Audio)
		}
	}
	if _, err := job.Spec.Normalize(); err != nil {
		t.Fatalf("the live job's spec does not validate: %v", err)
	}
	// Live encoding is tuned for latency (make bench-live: p95 1.85 s → 0.22 s), in the
	// stream's job only: the preset itself is unchanged.
	for _, o := range outs {
		if o.Video.Options["tune"] != "zerolatency" {
			t.Errorf("live output %q: x264 options %v, want tune zerolatency", o.Name, o.Video.Options)
		}
	}
	if p, err := e.farm.Preset(farm.Admin("test"), "abr-480p"); err != nil || p.Video == nil || p.Video.Options["tune"] != "" {
		t.Errorf("the abr-480p preset's video options became %v (%v)", p.Video.Options, err)
	}

	// A stream without destinations gets the ladder alone.
	pj, err := e.farm.Get(e.ctx, farm.Admin("test"), e.get(e.publish(plain.StreamKey)).JobID)
	if err != nil {
		t.Fatal(err)
	}
	if len(pj.Spec.Outputs) != 3 {
		t.Fatalf("a stream without destinations: %d outputs, want 3", len(pj.Spec.Outputs))
	}
}

// Workers on other machines read a live stream from the relay host the master is given
// (--rtmp-relay-host); by default the relay is on 127.0.0.1.
func TestStreamJobReadsTheRelayHost(t *testing.T) {
	for _, c := range []struct{ relay, want string }{{"", "127.0.0.1:19350"}, {"ingest.internal", "ingest.internal:19350"}} {
		e := startStreams(t, "", func(cfg *live.Config) { cfg.RelayHost = c.relay })
		cam, err := e.s.CreateStream(e.ctx, farm.Admin("test"), api.StreamRequest{Name: "cam", Preset: "abr-480p"})
		if err != nil {
			t.Fatal(err)
		}
		job, err := e.farm.Get(e.ctx, farm.Admin("test"), e.get(e.publish(cam.StreamKey)).JobID)
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(job.Spec.Input.URL)
		if err != nil || u.Host != c.want || u.Query().Get("token") == "" {
			t.Errorf("relay host %q: the live job reads %q, want rtmp://%s/live/<id>?token=…", c.relay, job.Spec.Input.URL, c.want)
		}
	}
}

// TestStreamCMAF: a stream chooses CMAF (fMP4) segments for its live HLS whatever its
// preset's, and a cmaf preset streams its CMAF renditions, the audio one among them, as
// live HLS (its DASH manifest is for VOD): a restream then takes the audio from that
// rendition. A segment type the preset's codec cannot go in is refused at creation.
func TestStreamCMAF(t *testing.T) {
	e := startStreams(t, "", nil)
	admin := farm.Admin("test")
	liveJob := func(st api.Stream) api.Job {
		t.Helper()
		j, err := e.farm.Get(e.ctx, admin, e.get(e.publish(st.StreamKey)).JobID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := j.Spec.Normalize(); err != nil {
			t.Fatalf("the live job's spec does not validate: %v", err)
		}
		return j
	}
	fmp4, err := e.s.CreateStream(e.ctx, admin, api.StreamRequest{Name: "fmp4", Preset: "abr-480p", SegmentType: spec.SegmentFMP4})
	if err != nil || fmp4.SegmentType != spec.SegmentFMP4 {
		t.Fatalf("create with segment_type fmp4: %+v, %v", fmp4, err)
	}
	for _, o := range liveJob(fmp4).Spec.Outputs {
		if o.Container != "hls" || o.HLS == nil || o.HLS.SegmentType != spec.SegmentFMP4 || o.HLS.PlaylistSize == 0 {
			t.Errorf("output %q: %s %+v, want live hls with fmp4 segments", o.Name, o.Container, o.HLS)
		}
	}

	p, _ := catalog.BuiltinPreset("abr-480p")
	p.Name, p.BuiltIn, p.Container = "house-cmaf", false, "cmaf"
	if _, _, err := e.farm.PutPreset(e.ctx, p.Name, p); err != nil {
		t.Fatal(err)
	}
	cmaf, err := e.s.CreateStream(e.ctx, admin, api.StreamRequest{Name: "cmaf", Preset: p.Name, Destinations: []string{"rtmp://a.example/live/k"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range liveJob(cmaf).Spec.Outputs {
		seg := "-"
		if o.HLS != nil {
			seg = o.HLS.SegmentType
		}
		got = append(got, fmt.Sprintf("%s %s/%s/%s %s/%s", o.Name, o.Container, seg, map[bool]string{true: "live", false: "vod"}[o.HLS != nil && o.HLS.PlaylistSize > 0], o.Video.Codec, o.Audio.Codec))
	}
	want := []string{"480p hls/fmp4/live libx264/none", "360p hls/fmp4/live libx264/none", "240p hls/fmp4/live libx264/none",
		"audio hls/fmp4/live none/aac", "restream0 flv/-/vod libx264/aac"}
	if !slices.Equal(got, want) {
		t.Errorf("cmaf stream's live job:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	for _, c := range []struct {
		req  api.StreamRequest
		says string
	}{
		{api.StreamRequest{Name: "webm", Preset: "abr-480p", SegmentType: "webm"}, "want ts or fmp4"},
		{api.StreamRequest{Name: "av1ts", Preset: "abr-1080p-av1", SegmentType: spec.SegmentTS}, "cannot stream in ts segments"},
	} {
		_, err := e.s.CreateStream(e.ctx, admin, c.req)
		var inv *fault.InvalidError
		if !errors.As(err, &inv) || inv.Field != "segment_type" || !strings.Contains(inv.Error(), c.says) {
			t.Errorf("%+v: %v, want an invalid segment_type saying %q", c.req, err, c.says)
		}
	}
}
