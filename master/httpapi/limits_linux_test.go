package httpapi_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master"
	"github.com/ffrtmp/ffrtmp/master/auth"
)

// logBuffer keeps what the master logs, for tests that check what an operator reads.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitLog waits until the log holds want.
func (b *logBuffer) waitLog(t *testing.T, want string, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(b.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the master's log within %s:\n%s", want, within, b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.Contains(line, want) {
			return line
		}
	}
	return ""
}

// padDatabase writes mb MiB into a bucket of its own in dir/master.db, so a backup of it is
// far larger than what loopback sockets buffer.
func padDatabase(t *testing.T, dir string, mb int) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, "master.db"), 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	chunk := bytes.Repeat([]byte("padding-"), 128<<10) // 1 MiB
	if err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("test-padding"))
		if err != nil {
			return err
		}
		for i := range mb {
			if err := b.Put(fmt.Appendf(nil, "%04d", i), chunk); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestBackupStalledReader: a client that asks for a backup and never reads is cut off after
// the write timeout, which ends the backup's read transaction: the master logs why, writes
// go on, and the master can still stop (closing bbolt waits for every read transaction). A
// client that reads gets the whole copy under the same short timeout.
func TestBackupStalledReader(t *testing.T) {
	const timeout = 500 * time.Millisecond
	dir := t.TempDir()
	padDatabase(t, dir, 24)
	logs := &logBuffer{}
	h := restart(t, dir, func(c *master.Config) {
		c.WriteTimeout = timeout
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	admin := h.Client(t, auth.RoleAdmin)

	n, err := admin.Backup(ctxT(t), io.Discard)
	if err != nil || n < 24<<20 {
		t.Fatalf("a reading client: backup of %d bytes, %v; want all of the 24 MiB database", n, err)
	}

	// A client with a small receive window that never reads.
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return errors.Join(err, serr)
	}}
	c, err := d.Dial("tcp", strings.TrimPrefix(h.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /v1/backup HTTP/1.1\r\nHost: master\r\nAuthorization: Bearer %s\r\n\r\n", roleKey[auth.RoleAdmin])
	stalled := time.Now()
	line := logs.waitLog(t, "backup failed", 10*time.Second)
	cut := time.Since(stalled)
	if !strings.Contains(line, "read nothing for 500ms") {
		t.Errorf("the log does not say why the backup was cut: %s", line)
	}
	t.Logf("stalled reader cut after %s: %s", cut.Round(time.Millisecond), line)

	// What the client finds when it reads at last: the headers, then a body cut short.
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read the answer's headers: %v", err)
	}
	got, rerr := io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK || got >= resp.ContentLength || rerr == nil || errors.Is(rerr, os.ErrDeadlineExceeded) {
		t.Fatalf("stalled client read %d of %d bytes (status %d), ending with %v; want a body cut short by the master", got, resp.ContentLength, resp.StatusCode, rerr)
	}

	// Writes go on, and the read transaction is gone: the master stops.
	sub := h.Client(t, auth.RoleSubmitter)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := sub.SubmitJob(ctx, api.JobRequest{Scenario: "4k60"}, ""); err != nil {
		t.Fatalf("submit after the stalled backup: %v", err)
	}
	begin := time.Now()
	if err := h.Stop(t); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if d := time.Since(begin); d > 3*time.Second {
		t.Errorf("the master took %s to stop after a stalled backup", d)
	}
}

// TestConnectionCapPerIP: one client IP holding --max-conns-per-ip connections gets further
// ones closed at once (counted in ffrtmp_master_connections_refused_total, logged), while
// another client IP (127.0.0.2: Linux routes all of 127/8 to loopback) is served; a closed
// connection gives its slot back; a trusted proxy (127.0.0.3) is not capped.
func TestConnectionCapPerIP(t *testing.T) {
	const max, extra = 4, 3
	logs := &logBuffer{}
	h := start(t, func(c *master.Config) {
		c.MaxConnsPerIP = max
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.3/32")}
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	addr := strings.TrimPrefix(h.URL, "http://")
	dialFrom := func(ip string) (net.Conn, error) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
		return d.Dial("tcp", addr)
	}
	// healthz asks on c and reports whether an answer came (keep-alive: c stays open).
	healthz := func(c net.Conn) error {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: master\r\n\r\n"); err != nil {
			return err
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}

	held := make([]net.Conn, 0, max)
	for i := range max {
		c, err := dialFrom("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := healthz(c); err != nil {
			t.Fatalf("connection %d of %d from 127.0.0.1: %v", i+1, max, err)
		}
		held = append(held, c)
	}
	for i := range extra {
		c, err := dialFrom("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		begin := time.Now()
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(make([]byte, 1))
		if n != 0 || !(errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
			t.Fatalf("connection %d over the cap: read %d bytes, %v; want it closed at once", i+1, n, err)
		}
		if d := time.Since(begin); d > 2*time.Second {
			t.Errorf("connection %d over the cap was closed after %s, want at once", i+1, d)
		}
	}

	// Another client is served while 127.0.0.1 is at its cap.
	other := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, a string) (net.Conn, error) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
		return d.DialContext(ctx, network, a)
	}}}
	defer other.CloseIdleConnections()
	r, err := other.Get(h.URL + "/healthz")
	if err != nil {
		t.Fatalf("/healthz from 127.0.0.2 while 127.0.0.1 is at its cap: %v", err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusOK {
		t.Fatalf("/healthz from 127.0.0.2: %d", r.StatusCode)
	}
	// The held connections still work.
	if err := healthz(held[0]); err != nil {
		t.Fatalf("a connection within the cap stopped working: %v", err)
	}

	mr, err := http.Get(h.MetricsURL())
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(mr.Body)
	mr.Body.Close()
	if want := fmt.Sprintf("ffrtmp_master_connections_refused_total %d", extra); !strings.Contains(string(metrics), want) {
		t.Errorf("metrics lack %q", want)
	}
	line := logs.waitLog(t, "per-IP cap", time.Second)
	if !strings.Contains(line, "client=127.0.0.1") || strings.Count(logs.String(), "per-IP cap") != 1 {
		t.Errorf("want one log line naming the client, got:\n%s", logs.String())
	}

	// A trusted proxy carries many clients: it is not capped.
	for i := range max + extra {
		c, err := dialFrom("127.0.0.3")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := healthz(c); err != nil {
			t.Fatalf("connection %d from the trusted proxy: %v", i+1, err)
		}
	}

	// A closed connection frees its slot.
	held[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := dialFrom("127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		err = healthz(c)
		c.Close()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new connection from 127.0.0.1 after one of its %d closed: %v", max, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
