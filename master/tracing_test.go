package master_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/mastertest"
)

// TestTracingExportsSpans checks that --tracing-enabled sends the API's spans to the OTLP/HTTP
// endpoint: a collector stand-in on loopback receives protobuf trace exports naming the
// service and the route.
func TestTracingExportsSpans(t *testing.T) {
	var mu sync.Mutex
	var bodies [][]byte
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		if r.URL.Path == "/v1/traces" && r.Header.Get("Content-Type") == "application/x-protobuf" {
			bodies = append(bodies, b)
		}
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer collector.Close()

	h := mastertest.Start(t, func(c *master.Config) {
		c.Tracing, c.TracingEndpoint, c.ServiceName = true, collector.URL, "master-under-test"
	})
	c := h.Client(t, auth.RoleSubmitter)
	if _, err := c.SubmitJob(t.Context(), api.JobRequest{Scenario: "720p30-h264"}, ""); err != nil {
		t.Fatal(err)
	}
	if err := h.Stop(t); err != nil { // shutdown flushes the exporter
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) == 0 {
		t.Fatal("the collector received no trace export")
	}
	var all []byte
	for _, b := range bodies {
		all = append(all, b...)
	}
	for _, want := range []string{"master-under-test", "submitJob"} {
		if !bytes.Contains(all, []byte(want)) {
			t.Errorf("the exported spans do not mention %q", want)
		}
	}
}
