package spec_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/api/roundtrip"
	"github.com/ffrtmp/ffrtmp/api/spec"
)

// decodeStrict reads a spec the way the API reads one: unknown fields are errors.
func decodeStrict(b []byte) (spec.Spec, error) {
	var s spec.Spec
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err := dec.Decode(&s)
	return s, err
}

// FuzzNormalize feeds Normalize every spec a client can send as JSON. A refused spec must
// be refused with a *spec.Error naming a field; an accepted one must be a fixed point of
// Normalize (normalising it again changes nothing), must survive JSON (the master stores
// it and the worker reads it back), and must say the same after the trip as before it.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		`{"input":{"url":"/in/a.mp4"},"outputs":[{"target":"/out/a.mp4"}]}`,
		`{"input":{"synthetic":{"width":1280,"height":720,"fps":"30000/1001","duration":2}},"outputs":[{"container":"null","video":{"codec":"libx264","bitrate":"3M","fps":29.97}}]}`,
		`{"input":{"url":"rtmp://ingest/live/k","timeout_seconds":5,"options":{"rw_timeout":"1"}},"outputs":[{"name":"720p","target":"/out/hls","video":{"height":720,"gop":2,"max_rate":"4.5M","buf_size":"6M"},"audio":{"codec":"opus","sample_rate":48000},"hls":{"segment_seconds":4,"playlist_size":6}}],"hardware":{"mode":"auto","device":"cuda"}}`,
		`{"input":{"url":"/in/a.mp4"},"outputs":[{"name":"r","target":"rtmps://x/live/key","reconnect":{"max_backoff_seconds":10},"audio":{"codec":"copy"}}]}`,
		`{"input":{"url":"/in/a.mp4","max_decode_errors":3},"outputs":[{"target":"/o.mkv","video":{"codec":"none"},"audio":{"channels":1,"bitrate":"64k"}}]}`,
		`{"input":{"synthetic":{"width":64,"height":64,"fps":0.0001,"duration":1}},"outputs":[{"container":"null","video":{"fps":0.0004}}]}`,
		`{"input":{"url":"/in/a.mp4"},"outputs":[{"name":"a\n#EXT-X-ENDLIST","target":"/out/hls"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		s, err := decodeStrict(body)
		if err != nil {
			return
		}
		n, err := s.Normalize()
		if err != nil {
			var se *spec.Error
			if !errors.As(err, &se) || se.Field == "" || se.Message == "" {
				t.Fatalf("Normalize refused with %v (%T), want a *spec.Error naming the field", err, err)
			}
			return
		}
		again, err := n.Normalize()
		if err != nil {
			t.Fatalf("Normalize accepted the spec but refuses its own result: %v\n%+v", err, n)
		}
		if !reflect.DeepEqual(again, n) {
			t.Fatalf("Normalize is not idempotent:\n once  %+v\n twice %+v", n, again)
		}
		if err := roundtrip.Check(n); err != nil {
			t.Fatal(err)
		}
		// What the client sent means the same after the master stored and resent it.
		back, err := roundtrip.JSON(s)
		if err != nil {
			t.Fatal(err)
		}
		nb, err := back.Normalize()
		if err != nil {
			t.Fatalf("the accepted spec is refused after a JSON round trip: %v", err)
		}
		if !roundtrip.Equal(nb, n) {
			t.Fatalf("the spec means something else after a JSON round trip:\n before %+v\n after  %+v", n, nb)
		}
		for i, o := range n.Outputs {
			if strings.ContainsFunc(o.Name, isControl) {
				t.Fatalf("outputs[%d]: name %q with control characters accepted (it names folders and playlist lines)", i, o.Name)
			}
		}
	})
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// FuzzParseRate: a rate ParseRate accepts is positive, at most 1000 fps, and reads back the
// same from its own string form.
func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"30", "29.97", "30000/1001", "0.5", "1000", "1/0", "-1", "0.0001", "1000000/1", "NaN", " 25 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r, err := spec.ParseRate(in)
		if err != nil {
			if !strings.Contains(err.Error(), "frame rate") {
				t.Fatalf("ParseRate(%q): error %q does not say it is about the frame rate", in, err)
			}
			return
		}
		if r.IsZero() || r.Num < 0 || r.Den < 0 || r.Float() > 1000 || math.IsNaN(r.Float()) {
			t.Fatalf("ParseRate(%q) = %d/%d (%g fps): want a positive rate up to 1000", in, r.Num, r.Den, r.Float())
		}
		back, err := spec.ParseRate(r.String())
		if err != nil || back != r {
			t.Fatalf("ParseRate(%q) = %v, which reads back as %v (%v)", in, r, back, err)
		}
		if err := roundtrip.Check(r); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzParseBitrate: an accepted bitrate is not negative, at most 1 Tb/s, and reads back the
// same from its own string form.
func FuzzParseBitrate(f *testing.F) {
	for _, s := range []string{"3000000", "3M", "800k", "2.5M", "1G", "0", "-1", "1e12", "1e13", "NaN", "Inf", "0x10", "1.5k"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		b, err := spec.ParseBitrate(in)
		if err != nil {
			if !strings.Contains(err.Error(), "bitrate") {
				t.Fatalf("ParseBitrate(%q): error %q does not say it is about the bitrate", in, err)
			}
			return
		}
		if b < 0 || b > 1e12 {
			t.Fatalf("ParseBitrate(%q) = %d: want 0..1e12", in, b)
		}
		back, err := spec.ParseBitrate(b.String())
		if err != nil || back != b {
			t.Fatalf("ParseBitrate(%q) = %d (%s), which reads back as %d (%v)", in, b, b, back, err)
		}
		if err := roundtrip.Check(b); err != nil {
			t.Fatal(err)
		}
	})
}
