package livebench

import (
	"bytes"
	"math"
	"slices"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestSummarizeIsNearestRank(t *testing.T) {
	xs := []time.Duration{ms(5), ms(1), ms(4), ms(2), ms(3), ms(10), ms(9), ms(8), ms(7), ms(6)}
	want := Latency{Samples: 10, P50: 0.005, P95: 0.010, Max: 0.010}
	if got := summarize(xs); got != want {
		t.Errorf("summarize(1..10 ms) = %+v, want %+v", got, want)
	}
	if xs[0] != ms(5) {
		t.Error("summarize sorted its input")
	}
	if got := summarize(nil); got != (Latency{}) {
		t.Errorf("summarize(nothing) = %+v, want zero", got)
	}
}

// sentAt30 is a source sent in real time at 30 fps from t=0: frame k at k/30 s.
func sentAt30(n int) []time.Duration {
	s := make([]time.Duration, n)
	for k := range s {
		s[k] = time.Duration(k) * time.Second / 30
	}
	return s
}

func TestAlignFindsTheJoinKeyframe(t *testing.T) {
	sent := sentAt30(300)
	keyframes := []int{0, 60, 120, 180, 240}
	// The job joined at frame 120 and every frame takes 700 ms; the restream starts at 0.
	var recv []Received
	for j := range 100 {
		pts := time.Duration(j) * time.Second / 30
		recv = append(recv, Received{PTS: pts, At: sent[120+j] + ms(700)})
	}
	a, ok := Align(sent, recv, keyframes, 30)
	if !ok || a.Offset != 120 {
		t.Fatalf("Align: offset %d (%t), want 120", a.Offset, ok)
	}
	if len(a.Latency) != 100 || a.Unmatched != 0 {
		t.Fatalf("%d latencies, %d unmatched; want 100, 0", len(a.Latency), a.Unmatched)
	}
	for i, l := range a.Latency {
		if l != ms(700) {
			t.Fatalf("latency[%d] = %v, want 700ms", i, l)
		}
	}
	if got := len(a.Since(recv[50].At)); got != 50 {
		t.Errorf("Since the 51st arrival: %d frames, want 50", got)
	}
}

func TestAlignCountsUnsentFrames(t *testing.T) {
	sent := sentAt30(90)
	sent[89] = -1 // never sent
	var recv []Received
	for j := range 40 { // frames 60..99: 89 and 90..99 have no send time
		recv = append(recv, Received{PTS: time.Duration(j) * time.Second / 30, At: sent[60] + time.Duration(j)*time.Second/30 + ms(300)})
	}
	a, ok := Align(sent, recv, []int{0, 60}, 30)
	if !ok || a.Offset != 60 || len(a.Latency) != 29 || a.Unmatched != 11 {
		t.Fatalf("Align: offset %d (%t), %d matched, %d unmatched; want 60, 29, 11", a.Offset, ok, len(a.Latency), a.Unmatched)
	}
}

func TestAlignRefusesWhatArrivedBeforeItWasSent(t *testing.T) {
	sent := sentAt30(60)
	recv := []Received{{PTS: 0, At: -ms(10)}}
	if _, ok := Align(sent, recv, []int{0}, 30); ok {
		t.Error("Align accepted a frame that arrived before any source frame was sent")
	}
	if _, ok := Align(sent, nil, []int{0}, 30); ok {
		t.Error("Align accepted no frames")
	}
}

func TestParsePlaylist(t *testing.T) {
	const pl = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:4\n" +
		"#EXTINF:2.000000,\nseg4.ts\n#EXTINF:1.966667,\nseg5.ts\n"
	got := ParsePlaylist(pl)
	want := []Segment{{Seq: 4, URI: "seg4.ts", Duration: 2 * time.Second}, {Seq: 5, URI: "seg5.ts", Duration: time.Duration(1.966667 * float64(time.Second))}}
	if !slices.Equal(got, want) {
		t.Errorf("ParsePlaylist = %+v, want %+v", got, want)
	}
	if got := ParsePlaylist("not a playlist"); len(got) != 1 || got[0].Duration != 0 {
		t.Errorf("ParsePlaylist of a bare line = %+v", got)
	}
}

func TestSegmentLatency(t *testing.T) {
	sent := sentAt30(600)
	// The job's timeline starts at source frame 60; segments of 2 s appear 2.5 s after their
	// first frame was sent. Segment 3 was never seen, so the ones after it are not measured.
	appeared, durations := map[int64]time.Duration{}, map[int64]time.Duration{}
	for seq := int64(0); seq < 5; seq++ {
		if seq == 3 {
			continue
		}
		appeared[seq] = sent[60+60*int(seq)] + ms(2500)
		durations[seq] = 2 * time.Second
	}
	got := SegmentLatency(sent, appeared, durations, 60, 30)
	if want := []time.Duration{ms(2500), ms(2500), ms(2500)}; !slices.Equal(got, want) {
		t.Errorf("SegmentLatency = %v, want %v", got, want)
	}
}

func TestSplitAnnexB(t *testing.T) {
	b := []byte{0xff, 0, 0, 0, 1, 9, 0xf0, 0, 0, 1, 0x67, 1, 2, 0, 0, 0, 1, 0x65, 0, 0, 3, 1}
	got := SplitAnnexB(b)
	want := [][]byte{{9, 0xf0}, {0x67, 1, 2}, {0x65, 0, 0, 3, 1}}
	if len(got) != len(want) {
		t.Fatalf("SplitAnnexB = %x, want %x", got, want)
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("NALU %d = %x, want %x", i, got[i], want[i])
		}
	}
	if got := SplitAnnexB([]byte{1, 2, 3}); len(got) != 0 {
		t.Errorf("no start code: %x, want nothing", got)
	}
}

func TestHistogramQuantile(t *testing.T) {
	b := func(le float64, n uint64) *dto.Bucket { return &dto.Bucket{UpperBound: &le, CumulativeCount: &n} }
	count := uint64(10)
	h := &dto.Histogram{SampleCount: &count, Bucket: []*dto.Bucket{b(0.2, 0), b(0.1, 0), b(0.3, 5), b(0.5, 9), b(1, 10)}}
	for q, want := range map[float64]float64{0.5: 0.3, 0.25: 0.25, 0.7: 0.4, 0.95: 0.75} {
		if got := histogramQuantile(h, q); math.Abs(got-want) > 1e-9 {
			t.Errorf("q%v = %v, want %v", q, got, want)
		}
	}
	zero := uint64(0)
	if got := histogramQuantile(&dto.Histogram{SampleCount: &zero}, 0.5); !math.IsNaN(got) {
		t.Errorf("empty: %v", got)
	}
}
