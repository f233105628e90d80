// Package sdnotifytest plays systemd's side of sd_notify in tests: a notification socket
// (unixgram) in a test's temp folder that records what a daemon sends.
package sdnotifytest

import (
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Socket is a notification socket; give a daemon NOTIFY_SOCKET=<Path>.
type Socket struct {
	Path string

	mu   sync.Mutex
	msgs []Message
	seen int // messages Next has passed
}

// Message is one datagram and when it arrived.
type Message struct {
	At   time.Time
	Text string
}

// Listen opens a socket that lives until the test ends.
func Listen(t testing.TB) *Socket {
	t.Helper()
	s := &Socket{Path: filepath.Join(t.TempDir(), "notify.sock")}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: s.Path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, Message{At: time.Now(), Text: string(buf[:n])})
			s.mu.Unlock()
		}
	}()
	return s
}

// Env is the NOTIFY_SOCKET assignment for a child's environment.
func (s *Socket) Env() string { return "NOTIFY_SOCKET=" + s.Path }

// Next waits up to limit for the next message, after those Next returned before, that
// holds want (messages without it are passed over) and returns it; ok is false on timeout.
func (s *Socket) Next(want string, limit time.Duration) (m Message, ok bool) {
	deadline := time.Now().Add(limit)
	for {
		s.mu.Lock()
		for s.seen < len(s.msgs) {
			m = s.msgs[s.seen]
			s.seen++
			if strings.Contains(m.Text, want) {
				s.mu.Unlock()
				return m, true
			}
		}
		s.mu.Unlock()
		if time.Now().After(deadline) {
			return Message{}, false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// All returns every message so far.
func (s *Socket) All() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}
