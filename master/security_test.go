package master_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/internal/testpki"
	"github.com/ffrtmp/ffrtmp/internal/tlsconf"
	"github.com/ffrtmp/ffrtmp/master"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/mastertest"
)

// clientTLS is tlsconf.Client or the test's end.
func clientTLS(t *testing.T, caFile, certFile, keyFile string) *tls.Config {
	t.Helper()
	cfg, err := tlsconf.Client(caFile, certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// hostPort is the master's host:port.
func hostPort(t *testing.T, h *mastertest.Harness) string {
	t.Helper()
	u, err := url.Parse(h.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// requireNoHTTPAnswer checks that a request through the API client failed without an HTTP
// answer. Over HTTP/2 the transport may report a refused client certificate only as
// "http2: client conn could not be established"; the raw connections below show the alert.
func requireNoHTTPAnswer(t *testing.T, what string, err error) {
	t.Helper()
	var ae *api.Error
	switch {
	case err == nil:
		t.Fatalf("%s: accepted, want a refusal at the TLS handshake", what)
	case errors.As(err, &ae):
		t.Fatalf("%s: an HTTP answer (%v), want a refusal at the TLS handshake", what, err)
	}
}

// requireTLSRefusal checks that err is a refusal at the TLS layer: no HTTP answer came (not
// an *api.Error), and the error is TLS's (an alert, a handshake or a certificate failure).
func requireTLSRefusal(t *testing.T, what string, err error) {
	t.Helper()
	var ae *api.Error
	switch {
	case err == nil:
		t.Fatalf("%s: accepted, want a refusal at the TLS handshake", what)
	case errors.As(err, &ae):
		t.Fatalf("%s: an HTTP answer (%v), want a refusal at the TLS handshake", what, err)
	case !strings.Contains(err.Error(), "tls:") && !strings.Contains(err.Error(), "x509:"):
		t.Fatalf("%s: %v, want a TLS error", what, err)
	}
}

// TestTLSWithCertAndKey: --cert/--key serve HTTPS that a client trusting the CA verifies;
// plain HTTP to that port and clients that do not trust the CA get nothing from the API.
func TestTLSWithCertAndKey(t *testing.T) {
	t.Parallel()
	pki := testpki.New(t)
	cert, key := pki.Server(t)
	h := mastertest.Start(t, func(c *master.Config) {
		c.TLS = tlsconf.Options{CertFile: cert, KeyFile: key}
	})
	if !strings.HasPrefix(h.URL, "https://") {
		t.Fatalf("master URL %s, want https", h.URL)
	}
	ctx := context.Background()
	c := h.Client(t, auth.RoleSubmitter, api.WithTLSConfig(clientTLS(t, pki.CAFile, "", "")))
	if _, err := c.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264"}, ""); err != nil {
		t.Fatalf("HTTPS with the CA trusted: %v", err)
	}

	// A client with the system roots does not know the test CA.
	_, err := h.Client(t, auth.RoleSubmitter).ListJobs(ctx, api.ListJobsOptions{})
	requireTLSRefusal(t, "client without the CA", err)

	// Plain HTTP to the TLS port: the API does not answer it.
	plainURL := "http://" + hostPort(t, h)
	plain, err := api.NewClient(plainURL, mastertest.SubmitterKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.ListJobs(ctx, api.ListJobsOptions{}); err == nil {
		t.Fatal("plain HTTP to the TLS port listed jobs")
	} else if s := statusOf(err); s != 0 && s != http.StatusBadRequest {
		t.Fatalf("plain HTTP to the TLS port: %v, want no answer or 400", err)
	}
}

// TestTLSSelfSigned: --tls alone makes a self-signed pair next to the database that a client
// trusting that certificate accepts; a restart keeps serving the same certificate.
func TestTLSSelfSigned(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	selfSigned := func(c *master.Config) {
		c.TLS = tlsconf.Options{Enabled: true, SelfSignedDir: filepath.Dir(c.DB)}
	}
	h := mastertest.StartIn(t, dir, selfSigned)
	certFile := filepath.Join(dir, "tls-cert.pem")
	for _, f := range []string{certFile, filepath.Join(dir, "tls-key.pem")} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("no self-signed file next to the database: %v", err)
		}
	}
	ctx := context.Background()
	c := h.Client(t, auth.RoleAdmin, api.WithTLSConfig(clientTLS(t, certFile, "", "")))
	if err := c.Ready(ctx); err != nil {
		t.Fatalf("client trusting the self-signed certificate: %v", err)
	}
	other := testpki.New(t)
	err := h.Client(t, auth.RoleAdmin, api.WithTLSConfig(clientTLS(t, other.CAFile, "", ""))).Ready(ctx)
	requireTLSRefusal(t, "client trusting another CA", err)

	before := servedCert(t, hostPort(t, h), certFile)
	if err := h.Stop(t); err != nil {
		t.Fatal(err)
	}
	h = mastertest.StartIn(t, dir, selfSigned)
	if after := servedCert(t, hostPort(t, h), certFile); !bytes.Equal(before, after) {
		t.Fatal("after a restart the master serves another self-signed certificate: clients would have to trust it again")
	}
}

// servedCert returns the DER certificate the server at addr presents, checked against the
// PEM file caFile.
func servedCert(t *testing.T, addr, caFile string) []byte {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, clientTLS(t, caFile, "", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].Raw
}

// TestMTLS: with --ca --mtls a client without a certificate, or with one from another CA, is
// refused at the TLS handshake; a certificate from the CA still needs an API key.
func TestMTLS(t *testing.T) {
	t.Parallel()
	pki := testpki.New(t)
	cert, key := pki.Server(t)
	h := mastertest.Start(t, func(c *master.Config) {
		c.TLS = tlsconf.Options{CertFile: cert, KeyFile: key, CAFile: pki.CAFile, MTLS: true}
	})
	ctx := context.Background()
	addr := hostPort(t, h)

	_, err := h.Client(t, auth.RoleWorker, api.WithTLSConfig(clientTLS(t, pki.CAFile, "", ""))).ListNodes(ctx)
	requireNoHTTPAnswer(t, "client without a certificate", err)

	// TLS 1.2 shows the refusal inside the handshake itself; TLS 1.3 finishes the client's
	// side first and shows it as the server's alert on the first read, before any HTTP.
	tls12 := clientTLS(t, pki.CAFile, "", "")
	tls12.MaxVersion = tls.VersionTLS12
	if conn, err := tls.Dial("tcp", addr, tls12); err == nil {
		conn.Close()
		t.Fatal("TLS 1.2 handshake without a client certificate succeeded")
	} else {
		requireTLSRefusal(t, "TLS 1.2 handshake without a client certificate", err)
	}
	if resp, err := rawGet(addr, clientTLS(t, pki.CAFile, "", "")); err == nil {
		t.Fatalf("TLS 1.3 without a client certificate got an HTTP answer: %s", resp.Status)
	} else if !strings.Contains(err.Error(), "certificate required") {
		t.Fatalf("TLS 1.3 without a client certificate: %v, want the certificate_required alert", err)
	}

	other := testpki.New(t)
	ocert, okey := other.Client(t, "intruder")
	intruder := clientTLS(t, pki.CAFile, ocert, okey)
	_, err = h.Client(t, auth.RoleWorker, api.WithTLSConfig(intruder)).ListNodes(ctx)
	requireNoHTTPAnswer(t, "client certificate from another CA", err)
	if resp, err := rawGet(addr, intruder); err == nil {
		t.Fatalf("client certificate from another CA got an HTTP answer: %s", resp.Status)
	} else {
		requireTLSRefusal(t, "client certificate from another CA", err)
	}

	wcert, wkey := pki.Client(t, "worker-1")
	good := api.WithTLSConfig(clientTLS(t, pki.CAFile, wcert, wkey))
	node, err := h.Client(t, auth.RoleWorker, good).Register(ctx, api.Registration{Name: "worker-1", Capabilities: api.Capabilities{CPUs: 2, Slots: 1}})
	if err != nil {
		t.Fatalf("valid client certificate and worker key: %v", err)
	}
	if node.ID == "" {
		t.Fatal("registered node has no ID")
	}
	// The certificate opens the connection; the key still decides what may be done.
	if _, err := h.ClientWithKey(t, "", good).ListNodes(ctx); statusOf(err) != http.StatusUnauthorized {
		t.Fatalf("valid client certificate without a key: %v, want 401", err)
	}
}

// rawGet sends GET /healthz over a fresh TLS connection and reads the answer.
func rawGet(addr string, cfg *tls.Config) (*http.Response, error) {
	conn, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: master\r\nConnection: close\r\n\r\n"); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	return resp, nil
}

// TestTLSOldVersionRefused: a client that speaks at most TLS 1.1 is refused.
func TestTLSOldVersionRefused(t *testing.T) {
	t.Parallel()
	pki := testpki.New(t)
	cert, key := pki.Server(t)
	h := mastertest.Start(t, func(c *master.Config) {
		c.TLS = tlsconf.Options{CertFile: cert, KeyFile: key}
	})
	old := clientTLS(t, pki.CAFile, "", "")
	old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	conn, err := tls.Dial("tcp", hostPort(t, h), old)
	if err == nil {
		v := conn.ConnectionState().Version
		conn.Close()
		t.Fatalf("a TLS 1.1 client was accepted (version %x)", v)
	}
	requireTLSRefusal(t, "TLS 1.1 client", err)
	err = h.Client(t, auth.RoleAdmin, api.WithTLSConfig(old)).Ready(context.Background())
	requireTLSRefusal(t, "TLS 1.1 API client", err)

	// The same CA and certificate at TLS 1.2 work: the refusal above is the version's.
	tls12 := clientTLS(t, pki.CAFile, "", "")
	tls12.MaxVersion = tls.VersionTLS12
	if err := h.Client(t, auth.RoleAdmin, api.WithTLSConfig(tls12)).Ready(context.Background()); err != nil {
		t.Fatalf("TLS 1.2 client: %v", err)
	}
}

// TestRateLimit: with 5 requests/s and a burst of 5, the 6th quick request is answered 429
// with Retry-After and the rate_limited code; /healthz is never limited; the metric counts.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	h := mastertest.Start(t, func(c *master.Config) {
		c.RateLimit, c.RateBurst = 5, 5
	})
	get := func(path, key string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, h.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	start := time.Now()
	ok, limited := 0, 0
	var refusal *http.Response
	var body []byte
	for range 30 {
		resp := get("/v1/jobs", mastertest.AdminKey)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			limited++
			refusal, body = resp, b
			break
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /v1/jobs: %d %s", resp.StatusCode, b)
		}
		ok++
	}
	// Tokens come back at 5/s: on a slow machine a few more than the burst may pass.
	if allowed := 5 + int(time.Since(start).Seconds()*5) + 1; refusal == nil || ok < 5 || ok > allowed {
		t.Fatalf("%d requests passed before a 429 (limited: %v), want 5 (the burst; %d at most in %s)", ok, refusal != nil, allowed, time.Since(start))
	}
	if ra, err := strconv.Atoi(refusal.Header.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("429 Retry-After %q, want whole seconds ≥ 1", refusal.Header.Get("Retry-After"))
	}
	var eb struct {
		Error api.Error `json:"error"`
	}
	if err := json.Unmarshal(body, &eb); err != nil || eb.Error.Code != api.CodeRateLimited {
		t.Errorf("429 body %s, want error code %s", body, api.CodeRateLimited)
	}

	// The Go client reports it as such.
	_, err := h.Client(t, auth.RoleAdmin).ListJobs(context.Background(), api.ListJobsOptions{})
	var ae *api.Error
	if !errors.As(err, &ae) || ae.Status != http.StatusTooManyRequests || ae.Code != api.CodeRateLimited || ae.RetryAfter < 1 {
		t.Errorf("client while limited: %v, want 429 rate_limited with RetryAfter", err)
	} else {
		limited++
	}

	for i := range 20 {
		resp := get("/healthz", "")
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/healthz #%d while limited: %d, want 200 (health checks are not limited)", i, resp.StatusCode)
		}
	}
	if got := scrape(t, h)["ffrtmp_master_rate_limited_total"]; got != float64(limited) {
		t.Errorf("ffrtmp_master_rate_limited_total = %v, want %d", got, limited)
	}
}

// metrics is one scrape: series as exposed (`name{label="v",...}`) → value.
type metrics map[string]float64

// scrape reads the master's /metrics.
func scrape(t *testing.T, h *mastertest.Harness) metrics {
	t.Helper()
	resp, err := http.Get(h.MetricsURL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	m := metrics{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			t.Fatalf("metrics line %q does not parse", line)
		}
		m[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

// has reports whether any series of the metric name exists.
func (m metrics) has(name string) bool {
	for s := range m {
		if s == name || strings.HasPrefix(s, name+"{") {
			return true
		}
	}
	return false
}

// sum adds up the series of name whose labels include every one of labels (`k="v"`).
func (m metrics) sum(name string, labels ...string) float64 {
	total := 0.0
	for s, v := range m {
		rest, ok := strings.CutPrefix(s, name)
		if !ok || (rest != "" && !strings.HasPrefix(rest, "{")) {
			continue
		}
		match := true
		for _, l := range labels {
			if !strings.Contains(rest, l) {
				match = false
			}
		}
		if match {
			total += v
		}
	}
	return total
}

// TestMetrics follows a job through a node and checks that the seed's metric names and
// the queue, lease, scheduling and transaction metrics exist and move.
func TestMetrics(t *testing.T) {
	t.Parallel()
	h := mastertest.Start(t)
	ctx := context.Background()
	sub, wrk := h.Client(t, auth.RoleSubmitter), h.Client(t, auth.RoleWorker)
	var ids []string
	for range 3 {
		job, err := sub.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264", Queue: api.QueueMedium}, "")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, job.ID)
	}
	node, err := wrk.Register(ctx, api.Registration{Name: "w1", Capabilities: api.Capabilities{CPUs: 4, Encoders: []string{"libx264"}, Slots: 1}})
	if err != nil {
		t.Fatal(err)
	}

	m := scrape(t, h)
	expect := func(m metrics, what string, got, want float64) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	expect(m, `queue_depth{queue="medium"}`, m.sum("ffrtmp_master_queue_depth", `queue="medium"`), 3)
	expect(m, `jobs_total{status="queued"}`, m.sum("ffrtmp_master_jobs_total", `status="queued"`), 3)
	expect(m, `nodes_total{status="online"}`, m.sum("ffrtmp_master_nodes_total", `status="online"`), 1)
	expect(m, `api_requests_total{route="submitJob",code="201"}`, m.sum("ffrtmp_master_api_requests_total", `route="submitJob"`, `code="201"`), 3)
	if m.sum("ffrtmp_master_db_size_bytes") <= 0 {
		t.Error("ffrtmp_master_db_size_bytes is not positive")
	}
	commits := m.sum("ffrtmp_master_db_transaction_seconds_count")
	if commits < 1 {
		t.Error("ffrtmp_master_db_transaction_seconds counted no transaction after 3 submissions")
	}

	lease, err := wrk.Lease(ctx, node.ID, 0)
	if err != nil || lease == nil {
		t.Fatalf("lease: %v %v", lease, err)
	}
	m = scrape(t, h)
	expect(m, `queue_depth{queue="medium"} after a lease`, m.sum("ffrtmp_master_queue_depth", `queue="medium"`), 2)
	expect(m, `jobs_total{status="assigned"}`, m.sum("ffrtmp_master_jobs_total", `status="assigned"`), 1)
	expect(m, `lease_wait_seconds_count{result="job"}`, m.sum("ffrtmp_master_lease_wait_seconds_count", `result="job"`), 1)
	expect(m, "scheduling_latency_seconds_count", m.sum("ffrtmp_master_scheduling_latency_seconds_count"), 1)
	if got := m.sum("ffrtmp_master_db_transaction_seconds_count"); got <= commits {
		t.Errorf("db_transaction_seconds_count %v after the assignment, want more than %v", got, commits)
	}

	// The node has its one slot taken: a lease that waits comes back empty.
	if l, err := wrk.Lease(ctx, node.ID, 50*time.Millisecond); err != nil || l != nil {
		t.Fatalf("lease with the slot taken: %v %v, want none", l, err)
	}
	if _, err := wrk.ReportProgress(ctx, lease.Job.ID, api.ProgressReport{Node: node.ID, Phase: api.PhaseTranscoding,
		Progress: &api.Progress{Percent: 50, FPS: 30, Speed: 1}}); err != nil {
		t.Fatal(err)
	}
	if _, err := wrk.Complete(ctx, lease.Job.ID, api.CompleteReport{Node: node.ID}); err != nil {
		t.Fatal(err)
	}
	m = scrape(t, h)
	expect(m, `lease_wait_seconds_count{result="empty"}`, m.sum("ffrtmp_master_lease_wait_seconds_count", `result="empty"`), 1)
	expect(m, `jobs_total{status="completed"}`, m.sum("ffrtmp_master_jobs_total", `status="completed"`), 1)
	expect(m, `jobs_total{status="queued"}`, m.sum("ffrtmp_master_jobs_total", `status="queued"`), 2)
	expect(m, `job_duration_seconds_count{status="completed",queue="medium"}`,
		m.sum("ffrtmp_master_job_duration_seconds_count", `status="completed"`, `queue="medium"`), 1)
	for _, name := range []string{"ffrtmp_master_jobs_total", "ffrtmp_master_nodes_total", "ffrtmp_master_job_duration_seconds_bucket",
		"ffrtmp_master_api_requests_total", "ffrtmp_master_db_size_bytes", "ffrtmp_master_queue_depth",
		"ffrtmp_master_lease_wait_seconds_bucket", "ffrtmp_master_scheduling_latency_seconds_bucket", "ffrtmp_master_db_transaction_seconds_bucket"} {
		if !m.has(name) {
			t.Errorf("/metrics has no %s", name)
		}
	}

	// Each job is still known after all that: the gauges count what the store holds.
	for _, id := range ids {
		if _, err := sub.GetJob(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
}

// statusOf is the HTTP status of an API error, 0 for nil or an error without one.
func statusOf(err error) int {
	var e *api.Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}
