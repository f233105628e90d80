package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
)

func readAll(t *testing.T, s *Subscription) []Event {
	t.Helper()
	var out []Event
	for {
		evs, _, err := s.Read(10)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return out
		}
		out = append(out, evs...)
	}
}

func TestResumeAndReset(t *testing.T) {
	h := New(Config{Buffer: 4, Start: 100})
	live, err := h.Subscribe("k", 0, false)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		h.Node(api.Node{ID: fmt.Sprint("n", i)})
	}
	got := readAll(t, live)
	if len(got) != 3 || got[0].ID != 101 || got[2].ID != 103 {
		t.Fatalf("live subscriber read %+v", got)
	}
	// Resume after 101: 102 and 103, exactly.
	s, _ := h.Subscribe("k", 101, true)
	if got := readAll(t, s); len(got) != 2 || got[0].ID != 102 || got[1].ID != 103 {
		t.Fatalf("resume after 101: %+v", got)
	}
	// Resume at the newest: nothing.
	s, _ = h.Subscribe("k", 103, true)
	if got := readAll(t, s); len(got) != 0 {
		t.Fatalf("resume at the newest: %+v", got)
	}
	for i := range 3 {
		h.Node(api.Node{ID: fmt.Sprint("m", i)}) // 104..106: 101 and 102 leave the buffer
	}
	for _, from := range []uint64{101, 7, 200} { // too old, of another hub, in the future
		s, _ = h.Subscribe("k", from, true)
		got := readAll(t, s)
		if len(got) != 1 || got[0].Kind != KindReset || got[0].ID != 106 {
			t.Fatalf("resume after %d: %+v, want one reset at 106", from, got)
		}
	}
	s, _ = h.Subscribe("k", 102, true) // 103 is the oldest held: nothing missed
	if got := readAll(t, s); len(got) != 4 || got[0].ID != 103 {
		t.Fatalf("resume after 102: %+v", got)
	}
	// The live subscriber falls behind by more than the buffer: a reset, then on.
	for i := range 6 {
		h.Node(api.Node{ID: fmt.Sprint("x", i)})
	}
	got = readAll(t, live)
	if len(got) != 1 || got[0].Kind != KindReset {
		t.Fatalf("a subscriber that fell behind read %+v, want a reset", got)
	}
	h.Close()
	if _, _, err := live.Read(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
}

func TestLimits(t *testing.T) {
	h := New(Config{MaxPerKey: 2, MaxTotal: 3})
	a1, _ := h.Subscribe("a", 0, false)
	if _, err := h.Subscribe("a", 0, false); err != nil {
		t.Fatal(err)
	}
	var tm *TooManyError
	if _, err := h.Subscribe("a", 0, false); !errors.As(err, &tm) || !tm.PerKey {
		t.Fatalf("third of key a: %v", err)
	}
	if _, err := h.Subscribe("b", 0, false); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Subscribe("c", 0, false); !errors.As(err, &tm) || tm.PerKey {
		t.Fatalf("over the total: %v", err)
	}
	a1.Close()
	a1.Close() // twice: released once
	if _, err := h.Subscribe("c", 0, false); err != nil {
		t.Fatalf("after a close: %v", err)
	}
	if _, err := h.Subscribe("a", 0, false); !errors.As(err, &tm) {
		t.Fatalf("a double close freed two places: %v", err)
	}
}

func TestProgressCoalesced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := New(Config{})
		defer h.Close()
		s, _ := h.Subscribe("k", 0, false)
		job := func(st api.Status, pct float64) api.Job {
			return api.Job{ID: "j1", Status: st, Progress: &api.Progress{Percent: pct}}
		}
		h.Job(job(api.StatusRunning, 1), false) // a state change: at once
		for pct := 2.0; pct <= 10; pct++ {      // ten reports within the second
			h.Job(job(api.StatusRunning, pct), true)
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(time.Second)
		got := readAll(t, s)
		pcts := percents(t, got)
		// The state change, then the latest progress once its second was over.
		if len(pcts) != 2 || pcts[0] != 1 || pcts[1] != 10 {
			t.Fatalf("read percents %v, want [1 10]", pcts)
		}
		// A report after a quiet second goes at once; a state change drops what waits.
		time.Sleep(time.Second)
		h.Job(job(api.StatusRunning, 11), true)
		h.Job(job(api.StatusRunning, 12), true)
		h.Job(job(api.StatusCompleted, 100), false)
		time.Sleep(2 * time.Second)
		if pcts := percents(t, readAll(t, s)); len(pcts) != 2 || pcts[0] != 11 || pcts[1] != 100 {
			t.Fatalf("read percents %v, want [11 100]", pcts)
		}
	})
}

func percents(t *testing.T, evs []Event) []float64 {
	t.Helper()
	var out []float64
	for _, ev := range evs {
		var j api.Job
		if err := json.Unmarshal(ev.Data, &j); err != nil {
			t.Fatal(err)
		}
		out = append(out, j.Progress.Percent)
	}
	return out
}

func TestStreamKeyNeverPublished(t *testing.T) {
	h := New(Config{})
	s, _ := h.Subscribe("k", 0, false)
	h.Stream(api.Stream{ID: "s1", Name: "cam", StreamKey: "sk_secret", Destinations: []string{"rtmp://a.example/live/destkey123"}})
	got := readAll(t, s)
	if len(got) != 1 {
		t.Fatalf("read %d events", len(got))
	}
	for _, secret := range []string{"sk_secret", "destkey123"} {
		if contains(got[0].Data, secret) {
			t.Fatalf("stream event holds %q: %s", secret, got[0].Data)
		}
	}
	if got[0].Tenant != api.DefaultTenant {
		t.Fatalf("tenant %q", got[0].Tenant)
	}
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }
