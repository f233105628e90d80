package api_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
)

// master is a test master on loopback that counts the requests it gets and keeps the
// Idempotency-Key of each.
type master struct {
	*httptest.Server
	hits atomic.Int32
	mu   sync.Mutex
	keys []string
}

func (m *master) Hits() int { return int(m.hits.Load()) }

func (m *master) Keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.keys...)
}

func newMaster(t *testing.T, h http.HandlerFunc) *master {
	t.Helper()
	m := &master{}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.hits.Add(1)
		m.mu.Lock()
		m.keys = append(m.keys, r.Header.Get("Idempotency-Key"))
		m.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(m.Close)
	return m
}

// goodMaster answers the routes these tests call the way a master does.
func goodMaster(t *testing.T) *master {
	return newMaster(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/v1/jobs":
			_, _ = io.WriteString(w, `{"jobs":[{"id":"j1","status":"queued"}]}`)
		case r.Method == http.MethodPost && r.URL.Path == "/v1/jobs":
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `{"id":"j2","status":"queued"}`)
		case strings.HasSuffix(r.URL.Path, "/lease"):
			_, _ = io.WriteString(w, `{"job":{"id":"j3","status":"assigned"}}`)
		case strings.HasSuffix(r.URL.Path, "/heartbeat"):
			_, _ = io.WriteString(w, `{}`)
		default:
			http.NotFound(w, r)
		}
	})
}

// errorMaster answers every request with status and an error body of code.
func errorMaster(t *testing.T, status int, code string) *master {
	return newMaster(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"error":{"code":"`+code+`","message":"test master says `+code+`"}}`)
	})
}

// hangUpMaster reads the request, waits delay (a long poll mid-wait) and closes the
// connection without answering.
func hangUpMaster(t *testing.T, delay time.Duration) *master {
	return newMaster(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
		}
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		_ = conn.Close()
	})
}

// refusedURL is the URL of a loopback port nobody listens on.
func refusedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "http://" + addr
}

func clusterClient(t *testing.T, log *slog.Logger, opts []api.Option, urls ...string) *api.Client {
	t.Helper()
	c, err := api.NewClient(strings.Join(urls, ","), "k", append([]api.Option{api.WithLogger(log)}, opts...)...)
	if err != nil {
		t.Fatalf("NewClient(%v): %v", urls, err)
	}
	return c
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestFailoverReachesTheGoodMasterAndSticksToIt(t *testing.T) {
	down := refusedURL(t)
	leaderless := errorMaster(t, http.StatusServiceUnavailable, api.CodeUnavailable)
	good := goodMaster(t)
	var logs bytes.Buffer
	c := clusterClient(t, slog.New(slog.NewTextHandler(&logs, nil)), nil, down, leaderless.URL, good.URL)
	if c.Master() != down {
		t.Fatalf("before any call Master() = %q, want the first, %q", c.Master(), down)
	}

	list, err := c.ListJobs(testCtx(t, 10*time.Second), api.ListJobsOptions{})
	if err != nil {
		t.Fatalf("ListJobs through a down and a leaderless master: %v", err)
	}
	if len(list.Jobs) != 1 || list.Jobs[0].ID != "j1" {
		t.Fatalf("ListJobs = %+v, want the good master's job j1", list)
	}
	if c.Master() != good.URL {
		t.Errorf("Master() = %q, want the one that answered, %q", c.Master(), good.URL)
	}
	if leaderless.Hits() != 1 {
		t.Errorf("the leaderless master got %d requests, want 1", leaderless.Hits())
	}
	line := logs.String()
	if strings.Count(line, "level=INFO") != 1 || !strings.Contains(line, "from="+down) ||
		!strings.Contains(line, "to="+good.URL) || !strings.Contains(line, "connection refused") {
		t.Errorf("log = %q, want one Info line moving from %s to %s because the connection was refused", line, down, good.URL)
	}

	// Sticky: the next calls go straight to the master that answered.
	for range 3 {
		if _, err := c.ListJobs(testCtx(t, 10*time.Second), api.ListJobsOptions{}); err != nil {
			t.Fatalf("second ListJobs: %v", err)
		}
	}
	if leaderless.Hits() != 1 || good.Hits() != 4 {
		t.Errorf("after 3 more calls: leaderless got %d, good %d requests; want 1 and 4", leaderless.Hits(), good.Hits())
	}
	if n := strings.Count(logs.String(), "level=INFO"); n != 1 {
		t.Errorf("%d Info lines after calls that did not move, want 1:\n%s", n, logs.String())
	}
}

func TestFailoverNeverRepeatsAPostWithoutIdempotencyKey(t *testing.T) {
	hangUp := hangUpMaster(t, 0)
	good := goodMaster(t)
	c := clusterClient(t, slog.New(slog.DiscardHandler), nil, hangUp.URL, good.URL)

	_, err := c.Heartbeat(testCtx(t, 10*time.Second), "n1", api.Heartbeat{})
	if err == nil {
		t.Fatal("Heartbeat through a master that hangs up: no error")
	}
	if !strings.HasPrefix(err.Error(), "POST "+hangUp.URL+"/v1/nodes/n1/heartbeat: ") {
		t.Errorf("error = %q, want it to name the request and the master that broke it", err)
	}
	if hangUp.Hits() != 1 || good.Hits() != 0 {
		t.Errorf("the hanging-up master got %d and the good one %d heartbeats, want 1 and 0 (a heartbeat may have been done)", hangUp.Hits(), good.Hits())
	}
	if c.Master() != hangUp.URL {
		t.Errorf("Master() = %q after a call nobody answered, want it unchanged (%q)", c.Master(), hangUp.URL)
	}
}

func TestFailoverRepeatsASubmitUnderOneIdempotencyKey(t *testing.T) {
	hangUp := hangUpMaster(t, 0)
	good := goodMaster(t)
	c := clusterClient(t, slog.New(slog.DiscardHandler), nil, hangUp.URL, good.URL)

	job, err := c.SubmitJob(testCtx(t, 10*time.Second), api.JobRequest{Scenario: "720p30-h264"}, "")
	if err != nil {
		t.Fatalf("SubmitJob through a master that hangs up, then a good one: %v", err)
	}
	if job.ID != "j2" {
		t.Errorf("job = %+v, want the good master's j2", job)
	}
	first, second := hangUp.Keys(), good.Keys()
	if len(first) != 1 || len(second) != 1 || first[0] == "" || first[0] != second[0] {
		t.Fatalf("Idempotency-Keys sent: %q then %q; want one key, the same at both masters", first, second)
	}
	if _, err := c.SubmitJob(testCtx(t, 10*time.Second), api.JobRequest{Scenario: "720p30-h264"}, ""); err != nil {
		t.Fatal(err)
	}
	if keys := good.Keys(); len(keys) != 2 || keys[1] == keys[0] {
		t.Errorf("two SubmitJob calls sent keys %q, want a new key per call", keys)
	}
	if _, err := c.SubmitJob(testCtx(t, 10*time.Second), api.JobRequest{Scenario: "720p30-h264"}, "mine"); err != nil {
		t.Fatal(err)
	}
	if keys := good.Keys(); keys[len(keys)-1] != "mine" {
		t.Errorf("the caller's key became %q, want it sent as given", keys[len(keys)-1])
	}
}

func TestFailoverTakesAnAnswerAsTheAnswer(t *testing.T) {
	for _, tt := range []struct {
		status int
		code   string
	}{
		{http.StatusNotFound, api.CodeNotFound},
		{http.StatusBadRequest, api.CodeBadRequest},
		{http.StatusUnauthorized, api.CodeUnauthorized},
		{http.StatusInternalServerError, api.CodeInternal},
		{http.StatusServiceUnavailable, api.CodeInternal}, // a 503 that did not say unavailable
	} {
		t.Run(tt.code+"/"+http.StatusText(tt.status), func(t *testing.T) {
			refusing := errorMaster(t, tt.status, tt.code)
			good := goodMaster(t)
			c := clusterClient(t, slog.New(slog.DiscardHandler), nil, refusing.URL, good.URL)
			_, err := c.ListJobs(testCtx(t, 10*time.Second), api.ListJobsOptions{})
			var e *api.Error
			if !errors.As(err, &e) || e.Status != tt.status || e.Code != tt.code {
				t.Fatalf("err = %v, want the first master's %d %s", err, tt.status, tt.code)
			}
			if good.Hits() != 0 {
				t.Errorf("the next master got %d requests after an answer, want 0", good.Hits())
			}
			if c.Master() != refusing.URL {
				t.Errorf("Master() = %q, want the one that answered, %q", c.Master(), refusing.URL)
			}
		})
	}
}

func TestFailoverEveryMasterDownNamesEachWithinTheDeadline(t *testing.T) {
	down := refusedURL(t)
	leaderless := errorMaster(t, http.StatusServiceUnavailable, api.CodeUnavailable)
	hangUp := hangUpMaster(t, 0)
	c := clusterClient(t, slog.New(slog.DiscardHandler), nil, down, leaderless.URL, hangUp.URL)

	const deadline = 700 * time.Millisecond
	start := time.Now()
	_, err := c.ListJobs(testCtx(t, deadline), api.ListJobsOptions{})
	took := time.Since(start)
	if took > deadline+time.Second {
		t.Errorf("the call took %v, want it to end at the context's deadline (%v)", took, deadline)
	}
	var ue *api.UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v (%T), want an *api.UnreachableError", err, err)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, syscall.ECONNREFUSED) || !api.IsCode(err, api.CodeUnavailable) {
		t.Errorf("err = %v: want it to be context.DeadlineExceeded, ECONNREFUSED and CodeUnavailable at once", err)
	}
	msg := err.Error()
	for _, want := range []string{"GET /v1/jobs: no master answered", down + ": ", "connection refused",
		leaderless.URL + ": test master says unavailable (503 unavailable)", hangUp.URL + ": "} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not say %q", msg, want)
		}
	}
	if leaderless.Hits() < 2 || hangUp.Hits() < 2 {
		t.Errorf("in %v the masters got %d and %d requests; want the list tried again after a pause", deadline, leaderless.Hits(), hangUp.Hits())
	}

	// Without a deadline on the context, the Client's timeout ends the call.
	c = clusterClient(t, slog.New(slog.DiscardHandler), []api.Option{api.WithTimeout(300 * time.Millisecond)}, down, leaderless.URL)
	start = time.Now()
	_, err = c.ListJobs(t.Context(), api.ListJobsOptions{})
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("with a 300ms timeout the call took %v", took)
	}
	if !errors.As(err, &ue) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "gave up after 300ms") {
		t.Errorf("err = %v, want an UnreachableError saying the 300ms timeout ended it", err)
	}
}

func TestFailoverLeaseBrokenMidWaitMovesOn(t *testing.T) {
	hangUp := hangUpMaster(t, 100*time.Millisecond)
	good := goodMaster(t)
	c := clusterClient(t, slog.New(slog.DiscardHandler), nil, hangUp.URL, good.URL)

	lease, err := c.Lease(testCtx(t, 10*time.Second), "n1", 5*time.Second)
	if err != nil {
		t.Fatalf("Lease through a master that hangs up mid-wait: %v", err)
	}
	if lease == nil || lease.Job.ID != "j3" {
		t.Fatalf("lease = %+v, want the next master's job j3", lease)
	}
	if hangUp.Hits() != 1 || good.Hits() != 1 || c.Master() != good.URL {
		t.Errorf("masters got %d and %d leases, Master() = %q; want 1, 1 and %q", hangUp.Hits(), good.Hits(), c.Master(), good.URL)
	}
}

func TestOneMasterNeverRetries(t *testing.T) {
	leaderless := errorMaster(t, http.StatusServiceUnavailable, api.CodeUnavailable)
	c, err := api.NewClient(leaderless.URL, "k")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListJobs(testCtx(t, 10*time.Second), api.ListJobsOptions{})
	var e *api.Error
	if !errors.As(err, &e) || e.Code != api.CodeUnavailable || leaderless.Hits() != 1 {
		t.Errorf("err = %v after %d requests, want the master's 503 after one", err, leaderless.Hits())
	}
	down := refusedURL(t)
	if c, err = api.NewClient(down, "k"); err != nil {
		t.Fatal(err)
	}
	_, err = c.ListJobs(testCtx(t, 10*time.Second), api.ListJobsOptions{})
	if err == nil || !strings.HasPrefix(err.Error(), "GET "+down+"/v1/jobs: ") || errors.As(err, new(*api.UnreachableError)) {
		t.Errorf("err = %v, want today's error naming the request and URL", err)
	}
	if len(c.Masters()) != 1 || c.Master() != down || c.BaseURL() != down {
		t.Errorf("Masters() = %q, Master() = %q, BaseURL() = %q; want %q", c.Masters(), c.Master(), c.BaseURL(), down)
	}
}

func TestNewClientMasterList(t *testing.T) {
	c, err := api.NewClient(" http://m1:8080/ , https://m2:8443,http://m3:8080/ffrtmp", "")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"http://m1:8080", "https://m2:8443", "http://m3:8080/ffrtmp"}
	if got := c.Masters(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Masters() = %q, want %q", got, want)
	}
	for in, wantErr := range map[string]string{
		"http://m1:8080,,http://m3:8080":                  "master list, entry 2 of 3: master URL is empty",
		"http://m1:8080,":                                 "entry 2 of 2: master URL is empty",
		"http://m1:8080,m2:8080":                          `entry 2 of 2: master URL "m2:8080": want http:// or https:// (did you mean "http://m2:8080"?)`,
		"http://m1:8080,http://u:secret@m2:8080":          "entry 2 of 2: master URL \"http://u:xxxxx@m2:8080\": credentials go in the API key",
		"http://m1:8080,http://m2:8080,HTTP://M1:8080/":   "entries 1 and 3 are both",
		"http://m1:8080,http://m2:8080/?x=1":              "entry 2 of 2",
		"https://m1:8080,https://m2:8080,https://m2:8080": "entries 2 and 3 are both https://m2:8080",
	} {
		_, err := api.NewClient(in, "")
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("NewClient(%q) error = %v, want one containing %q", in, err, wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("NewClient(%q) error leaks the password: %v", in, err)
		}
	}
}

func TestFailoverPassesAMasterWhoseTLSHandshakeFails(t *testing.T) {
	untrusted := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("a request reached the master whose certificate the client does not trust")
	}))
	untrusted.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	untrusted.StartTLS()
	t.Cleanup(untrusted.Close)
	good := goodMaster(t)
	var logs bytes.Buffer
	c := clusterClient(t, slog.New(slog.NewTextHandler(&logs, nil)), nil, untrusted.URL, good.URL)
	if _, err := c.ListJobs(testCtx(t, 10*time.Second), api.ListJobsOptions{}); err != nil {
		t.Fatalf("ListJobs past a master with an untrusted certificate: %v", err)
	}
	if c.Master() != good.URL || !strings.Contains(logs.String(), "certificate") {
		t.Errorf("Master() = %q, log %q; want %q and the certificate named as the reason", c.Master(), logs.String(), good.URL)
	}
}
