package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"
)

// streamChunk is the most one deadline covers: a write of several MB to a slow but live
// client must not need more than WriteTimeout in one go.
const streamChunk = 256 << 10

// deadlineWriter gives each write of a streamed answer its own deadline, so a client that
// stops reading is cut off after WriteTimeout while a slow one that keeps reading is not.
// net/http has only a whole-response WriteTimeout, which would cut long backups.
type deadlineWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	err     error
}

func (s *Server) streamWriter(w http.ResponseWriter) *deadlineWriter {
	return &deadlineWriter{w: w, rc: http.NewResponseController(w), timeout: s.opts.WriteTimeout}
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	var n int
	for len(p) > 0 {
		chunk := p[:min(len(p), streamChunk)]
		if err := d.rc.SetWriteDeadline(time.Now().Add(d.timeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			d.err = err
			return n, err
		}
		m, err := d.w.Write(chunk)
		n += m
		if err != nil {
			d.err = d.explain(err)
			return n, d.err
		}
		p = p[m:]
	}
	return n, nil
}

// close flushes what net/http still buffers under a deadline, then lifts the deadline: the
// connection may serve further requests (a lease long-poll must not inherit it).
func (d *deadlineWriter) close() error {
	if d.err != nil {
		return d.err
	}
	if err := d.rc.SetWriteDeadline(time.Now().Add(d.timeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if err := d.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return d.explain(err)
	}
	if err := d.rc.SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// explain says why a write failed when the deadline was the reason.
func (d *deadlineWriter) explain(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("the client read nothing for %s: %w", d.timeout, err)
	}
	return err
}
