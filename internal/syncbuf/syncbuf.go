// Package syncbuf is a byte buffer that is safe for concurrent use: the output of a child
// process, a logger or a server, written by their goroutines while a test or a benchmark
// reads it.
package syncbuf

import (
	"bytes"
	"strings"
	"sync"
)

// Buffer collects what is written to it. The zero value is empty and ready. With Max set,
// it keeps only about the last Max bytes (a long run's log stays bounded).
type Buffer struct {
	Max int

	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Max > 0 && s.b.Len()+len(p) > s.Max {
		keep := s.b.Bytes()[min(s.b.Len(), s.b.Len()+len(p)-s.Max):]
		tail := append([]byte(nil), keep...)
		s.b.Reset()
		s.b.Write(tail)
	}
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Contains reports whether what was written so far holds sub.
func (s *Buffer) Contains(sub string) bool { return strings.Contains(s.String(), sub) }
