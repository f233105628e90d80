package master_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"os"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/internal/testpki"
	"github.com/ffrtmp/ffrtmp/internal/tlsconf"
	"github.com/ffrtmp/ffrtmp/master"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/mastertest"
)

// TestOperationsMetrics checks the gauges the alert rules read: the oldest queued job's age
// per queue, each node's heartbeat age, the database disk's headroom and the served
// certificate's expiry.
func TestOperationsMetrics(t *testing.T) {
	t.Parallel()
	pki := testpki.New(t)
	cert, key := pki.Server(t)
	h := mastertest.Start(t, func(c *master.Config) {
		c.TLS = tlsconf.Options{CertFile: cert, KeyFile: key}
	})
	ctx := context.Background()
	opts := api.WithTLSConfig(clientTLS(t, pki.CAFile, "", ""))
	sub, wrk := h.Client(t, auth.RoleSubmitter, opts), h.Client(t, auth.RoleWorker, opts)

	m := scrape(t, h)
	if got := m.sum("ffrtmp_master_queue_oldest_job_age_seconds", `queue="low"`); !m.has("ffrtmp_master_queue_oldest_job_age_seconds") || got != 0 {
		t.Errorf(`queue_oldest_job_age_seconds{queue="low"} of an empty queue = %v (present %v), want 0`, got, m.has("ffrtmp_master_queue_oldest_job_age_seconds"))
	}
	submitted := time.Now()
	if _, err := sub.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264", Queue: api.QueueLow}, ""); err != nil {
		t.Fatal(err)
	}
	node, err := wrk.Register(ctx, api.Registration{Name: "w1", Capabilities: api.Capabilities{CPUs: 4, Encoders: []string{"h264_nvenc"}, Slots: 1}})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	m = scrape(t, h)
	age := m.sum("ffrtmp_master_queue_oldest_job_age_seconds", `queue="low"`)
	if limit := time.Since(submitted).Seconds(); age < 1 || age > limit {
		t.Errorf(`queue_oldest_job_age_seconds{queue="low"} = %v after 1.1 s, want 1..%v`, age, limit)
	}
	if got := m.sum("ffrtmp_master_queue_oldest_job_age_seconds", `queue="high"`); got != 0 {
		t.Errorf(`queue_oldest_job_age_seconds{queue="high"} = %v with no job there, want 0`, got)
	}
	hb := m.sum("ffrtmp_master_node_heartbeat_age_seconds", `node="`+node.ID+`"`)
	if hb < 1 || hb > 30 {
		t.Errorf("node_heartbeat_age_seconds of %s = %v 1.1 s after it registered, want 1..30", node.ID, hb)
	}
	if _, err := wrk.Heartbeat(ctx, node.ID, api.Heartbeat{}); err != nil {
		t.Fatal(err)
	}
	if got := scrape(t, h).sum("ffrtmp_master_node_heartbeat_age_seconds", `node="`+node.ID+`"`); got >= hb {
		t.Errorf("node_heartbeat_age_seconds = %v after a heartbeat, want less than %v", got, hb)
	}

	free, size := m.sum("ffrtmp_master_db_disk_free_bytes"), m.sum("ffrtmp_master_db_disk_size_bytes")
	if free <= 0 || size <= 0 || free > size {
		t.Errorf("db_disk_free_bytes = %v, db_disk_size_bytes = %v: want 0 < free <= size", free, size)
	}

	b, err := os.ReadFile(cert)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	leaf, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.sum("ffrtmp_master_tls_cert_expiry_timestamp_seconds", `cert="server"`); got != float64(leaf.NotAfter.Unix()) {
		t.Errorf(`tls_cert_expiry_timestamp_seconds{cert="server"} = %v, want %d (the certificate's NotAfter)`, got, leaf.NotAfter.Unix())
	}
	if m.has(`ffrtmp_master_tls_cert_expiry_timestamp_seconds{cert="cluster"}`) {
		t.Error("a single master exports a cluster certificate expiry")
	}
}
