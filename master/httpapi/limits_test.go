package httpapi_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master"
	"github.com/ffrtmp/ffrtmp/master/auth"
)

// TestDuplicateKeys: a body that names a key twice in one object is refused, naming the key
// and its path, at the top and in nested objects and arrays; nothing is stored. The same key
// in sibling objects is fine.
func TestDuplicateKeys(t *testing.T) {
	h := start(t)
	sub, adm := roleKey[auth.RoleSubmitter], roleKey[auth.RoleAdmin]
	for _, c := range []struct{ name, method, path, body, field, msg string }{
		{"top level", "POST", "/v1/jobs", `{"scenario":"4k60","priority":5,"priority":-100}`, "priority", `duplicate key "priority"`},
		{"escaped twin", "POST", "/v1/jobs", `{"scenario":"4k60","queue":"low","q\u0075eue":"live"}`, "queue", `duplicate key "queue"`},
		{"nested", "POST", "/v1/jobs", `{"scenario":"720p30-h264","parameters":{"duration":3,"duration":9}}`, "parameters.duration",
			`duplicate key "duration" in parameters`},
		{"in a label map", "POST", "/v1/jobs", `{"scenario":"4k60","labels":{"team":"a","team":"b"}}`, "labels.team", `duplicate key "team" in labels`},
		{"in an array", "POST", "/v1/jobs",
			`{"spec":{"input":{"url":"/srv/in/a.mp4"},"outputs":[{"container":"mp4","target":"/srv/out/a.mp4"},{"container":"mp4","target":"/srv/out/b.mp4","target":"/etc/x"}]}}`,
			"spec.outputs[1].target", `duplicate key "target" in spec.outputs[1]`},
		{"preset rung", "PUT", "/v1/presets/dup", `{"renditions":[{"name":"a","height":360,"height":720,"bitrate":800000}]}`,
			"renditions[0].height", `duplicate key "height" in renditions[0]`},
	} {
		t.Run(c.name, func(t *testing.T) {
			key := sub
			if c.method == "PUT" {
				key = adm
			}
			e := call(t, h, c.method, c.path, key, []byte(c.body)).wantError(t, http.StatusBadRequest, api.CodeBadRequest, c.field)
			if e.Message != c.msg {
				t.Errorf("message %q, want %q", e.Message, c.msg)
			}
		})
	}
	// A case twin: encoding/json sets priority from "Priority" too (the last one wins).
	e := call(t, h, "POST", "/v1/jobs", sub, []byte(`{"scenario":"4k60","priority":5,"Priority":-100}`)).
		wantError(t, http.StatusBadRequest, api.CodeUnknownField, "Priority")
	if want := `unknown field "Priority": field names are case-sensitive, did you mean "priority"?`; e != nil && e.Message != want {
		t.Errorf("case twin: message %q, want %q", e.Message, want)
	}
	list, err := h.Client(t, auth.RoleSubmitter).ListJobs(ctxT(t), api.ListJobsOptions{})
	if err != nil || len(list.Jobs) != 0 {
		t.Fatalf("jobs stored from bodies with duplicate keys: %v %v", len(list.Jobs), err)
	}
	ok := `{"scenario":"4k60","labels":{"a":"1","A":"2"},"parameters":{"duration":3},"requirements":{"hardware":"cuda"}}`
	if r := call(t, h, "POST", "/v1/jobs", sub, []byte(ok)); r.Status != http.StatusCreated {
		t.Fatalf("a body without duplicates: %d %s", r.Status, r.Body)
	}
}

// TestIngestURLIgnoresHost: a stream's ingest_url names the configured ingest host whatever
// Host header the request carried (a client could otherwise make the master hand its users
// a URL of the client's choosing, and a load balancer's internal name would leak out).
func TestIngestURLIgnoresHost(t *testing.T) {
	name, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, rtmpListen, rtmpHost, want string
	}{
		{"ingest on loopback", "127.0.0.1:0", "", "127.0.0.1"},
		{"--rtmp-host", "127.0.0.1:0", "media.example.com", "media.example.com"},
		{"every interface", "0.0.0.0:0", "", name},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := start(t, func(cfg *master.Config) { cfg.RTMPListen, cfg.RTMPHost = c.rtmpListen, c.rtmpHost })
			_, port, _ := net.SplitHostPort(h.Master.RTMPAddr().String())
			want := "rtmp://" + net.JoinHostPort(c.want, port) + "/live/"
			st := decode[api.Stream](t, call(t, h, "POST", "/v1/streams", roleKey[auth.RoleSubmitter],
				[]byte(`{"name":"cam","preset":"abr-480p"}`), "Host", "evil.example:8080"), http.StatusCreated)
			if st.IngestURL != want {
				t.Errorf("created: ingest_url %q, want %q", st.IngestURL, want)
			}
			got := decode[api.Stream](t, call(t, h, "GET", "/v1/streams/"+st.ID, roleKey[auth.RoleSubmitter], nil, "Host", "evil.example"), http.StatusOK)
			if got.IngestURL != want || strings.Contains(got.IngestURL, "evil") {
				t.Errorf("read back: ingest_url %q, want %q", got.IngestURL, want)
			}
		})
	}
}

// TestMetricsFollowListen: a metrics address without a host binds the API's listen host, so
// a master kept on loopback does not serve its metrics to the network.
func TestMetricsFollowListen(t *testing.T) {
	h := start(t, func(c *master.Config) { c.MetricsAddr = ":0" })
	a := h.Master.MetricsAddr().(*net.TCPAddr)
	if !a.IP.Equal(net.IPv4(127, 0, 0, 1)) {
		t.Fatalf("metrics listen on %s with the API on 127.0.0.1, want 127.0.0.1", a)
	}
	r, err := http.Get(fmt.Sprintf("http://%s/metrics", a))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", r.StatusCode)
	}
	if got := master.DefaultHost("0.0.0.0:9090", "127.0.0.1"); got != "0.0.0.0:9090" {
		t.Errorf("an explicit host is kept: %q", got)
	}
	if got := master.DefaultHost(":9090", "::1"); got != "[::1]:9090" {
		t.Errorf("IPv6 listen host: %q", got)
	}
}
