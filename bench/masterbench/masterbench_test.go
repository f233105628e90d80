package masterbench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/store"
)

func TestSummarize(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	l := Summarize(ds)
	if l.Count != 100 || l.P50 != 50 || l.P90 != 90 || l.P99 != 99 || l.Max != 100 || l.Mean != 50.5 {
		t.Errorf("Summarize(1..100 ms) = %+v", l)
	}
	if got := Summarize(nil); got != (Latency{}) {
		t.Errorf("Summarize(nil) = %+v, want zero", got)
	}
	if l := Summarize([]time.Duration{7 * time.Millisecond}); l.P50 != 7 || l.P999 != 7 || l.Max != 7 {
		t.Errorf("Summarize(7 ms) = %+v, want every percentile 7", l)
	}
}

// The load's hand-written HTTP client reads what net/http's server writes: bodies with a
// length, chunked bodies, empty 204s and error bodies, on one connection.
func TestWireConn(t *testing.T) {
	big := strings.Repeat("x", 10_000) // past net/http's 2 KiB: sent chunked
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+APIKey {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/small":
			b, _ := json.Marshal(map[string]string{"id": "j1", "method": r.Method, "query": r.URL.RawQuery})
			w.Write(b)
		case "/echo":
			var in map[string]any
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(in)
		case "/big":
			w.Write([]byte(`{"id":"`))
			w.(http.Flusher).Flush()
			w.Write([]byte(big + `"}`))
		case "/none":
			w.WriteHeader(http.StatusNoContent)
		case "/conflict":
			w.WriteHeader(http.StatusConflict)
			w.Write([]byte(`{"error":{"code":"illegal_transition","message":"no"}}`))
		}
	}))
	defer srv.Close()
	w, err := newWireConn(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var out struct {
		ID     string `json:"id"`
		Method string `json:"method"`
		Query  string `json:"query"`
		N      int    `json:"n"`
	}
	for range 2 { // the second round reuses the connection
		if code, err := w.do("GET", "/small?status=failed", nil, &out); err != nil || code != 200 || out.ID != "j1" || out.Query != "status=failed" {
			t.Fatalf("GET /small: %d %v %+v", code, err, out)
		}
		if code, err := w.do("POST", "/echo", []byte(`{"id":"e","n":3}`), &out); err != nil || code != 201 || out.ID != "e" || out.N != 3 {
			t.Fatalf("POST /echo: %d %v %+v", code, err, out)
		}
		if code, err := w.do("GET", "/big", nil, &out); err != nil || code != 200 || out.ID != big {
			t.Fatalf("GET /big (chunked): %d %v, id of %d bytes", code, err, len(out.ID))
		}
		if code, err := w.do("POST", "/none", nil, &out); err != nil || code != 204 {
			t.Fatalf("POST /none: %d %v", code, err)
		}
		code, err := w.do("POST", "/conflict", []byte(`{}`), nil)
		var ae *api.Error
		if code != 409 || !errors.As(err, &ae) || ae.Status != 409 || ae.Code != "illegal_transition" {
			t.Fatalf("POST /conflict: %d %v, want a 409 *api.Error", code, err)
		}
	}
}

// The list database is built once and found again; a cache of another version is rebuilt.
func TestEnsureListDB(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first, err := EnsureListDB(ctx, dir, 300)
	if err != nil {
		t.Fatal(err)
	}
	if first.Cached || first.Jobs != 300 || first.Bytes == 0 {
		t.Fatalf("first EnsureListDB = %+v, want a fresh build of 300 jobs", first)
	}
	again, err := EnsureListDB(ctx, dir, 300)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Cached || again.Path != first.Path || !again.Built.Equal(first.Built) {
		t.Fatalf("second EnsureListDB = %+v, want the cached one", again)
	}
	st, err := store.Open(again.Path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	counts, err := st.CountByStatus(ctx)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, n := range counts {
		total += n
	}
	if total != 300 || counts[api.StatusCompleted] < 200 {
		t.Errorf("counts = %v, want 300 jobs, mostly completed", counts)
	}

	meta := strings.TrimSuffix(first.Path, ".db") + ".json"
	b, err := os.ReadFile(meta)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(meta, bytes.Replace(b, []byte(FillVersion), []byte("fill0"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	rebuilt, err := EnsureListDB(ctx, dir, 300)
	if err != nil {
		t.Fatal(err)
	}
	if rebuilt.Cached {
		t.Errorf("a cache of another fill version was used: %+v", rebuilt)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, "*.partial-*")); len(leftovers) > 0 {
		t.Errorf("partial files left: %v", leftovers)
	}
}

// TestSmoke runs every case end to end against a real master child process, at a size that
// takes seconds (the -quick profile takes about half a minute on 2 cores).
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the master: skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p := Profile{Name: "smoke", Clients: 8, Duration: 500 * time.Millisecond, Warmup: 100 * time.Millisecond,
		Queued: 600, Nodes: 20, Requesters: 8, LeaseRate: 400, Leases: 200, LeaseWarmup: 20, SatLeases: 100,
		Listed: 2000, ListClients: 2, ListRequests: 40, ListWarmup: 4,
		FairA: 200, FairB: 10, FairSlots: 4}
	dir := t.TempDir()
	var log bytes.Buffer
	rep, err := Run(ctx, Options{Profile: p, CacheDir: dir, Log: &log})
	if err != nil {
		t.Fatalf("Run: %v\nlog:\n%s", err, log.String())
	}
	if len(rep.Cases) != len(Cases) {
		t.Fatalf("%d cases, want %d", len(rep.Cases), len(Cases))
	}
	if rep.Machine.Cores == 0 || rep.Machine.GoVersion == "" || rep.Machine.Commit == "" {
		t.Errorf("machine = %+v", rep.Machine)
	}
	wantCounts := map[string]int{"lease": p.Leases, "lease-saturation": p.SatLeases, "all": p.ListRequests,
		"status=failed": p.ListRequests, "status=completed&queue=live": p.ListRequests, "all, 1 client": p.ListRequests / 4}
	for _, c := range rep.Cases {
		if len(c.Errors) > 0 {
			t.Errorf("case %s: errors %v", c.Name, c.Errors)
		}
		for name, want := range wantCounts {
			if l, ok := c.Latencies[name]; ok && l.Count != want {
				t.Errorf("case %s: %d %s requests measured, want %d", c.Name, l.Count, name, want)
			}
		}
		if c.MasterCPUSeconds <= 0 {
			t.Errorf("case %s: master CPU %v", c.Name, c.MasterCPUSeconds)
		}
		for _, m := range c.Metrics {
			if m.Name == "errors" && m.Value != 0 {
				t.Errorf("case %s: %v errors", c.Name, m.Value)
			}
		}
	}
	// Fair share: both weightings measured, each tenant's shares summing to 1; team-b got
	// slots (without fair share it would have had none while team-a's 200 waited).
	fair := rep.Cases[len(rep.Cases)-1]
	shares := map[string]float64{}
	for _, m := range fair.Metrics {
		shares[m.Name] = m.Value
	}
	for _, w := range []string{"1:1", "2:1"} {
		a, b := shares["team-a share of slots, weights "+w], shares["team-b share of slots, weights "+w]
		if fair.Name != "fairshare" || b <= 0 || math.Abs(a+b-1) > 1e-9 {
			t.Errorf("fairshare %s: team-a %.2f, team-b %.2f; want shares of 1 with team-b above 0 (%+v)", w, a, b, fair.Metrics)
		}
	}
	if l := rep.Cases[0].Latencies["submit"]; rep.Cases[0].Name != "submit" || l.Count == 0 || l.P99 <= 0 {
		t.Errorf("submit latencies = %+v", l)
	}

	path, err := rep.WriteJSON(dir)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	b, err := os.ReadFile(filepath.Join(dir, "master-latest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &back); err != nil || len(back.Cases) != len(Cases) || filepath.Dir(path) != dir {
		t.Errorf("JSON read back: %v, %d cases", err, len(back.Cases))
	}
	var table bytes.Buffer
	rep.WriteTable(&table)
	for _, want := range []string{"throughput (201/s)", "lease p99 at 400/s offered", "all p99", "rate limit OFF"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	// Only the cached list database stays; the masters' folder is removed.
	if tmp, _ := filepath.Glob(filepath.Join(dir, "tmp-master-*")); len(tmp) > 0 {
		t.Errorf("temporary folders left: %v", tmp)
	}
}
