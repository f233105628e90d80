package masterbench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/ffrtmp/ffrtmp/api"
)

// wireConn is one client of the load: a keep-alive HTTP/1.1 connection to the master that
// requests are written to by hand and answers read from, one write and a read or two per
// request, no goroutines. net/http's client hands each request through two goroutines of
// its own and costs several times the CPU; on a machine whose cores the master shares, that
// CPU would be the master's. Not safe for concurrent use: each client goroutine has its own.
type wireConn struct {
	addr    string // host:port
	timeout time.Duration
	c       net.Conn
	br      *bufio.Reader
	req     []byte
	resp    []byte
}

func newWireConn(baseURL string) (*wireConn, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("load client speaks plain http, not %s", u.Scheme)
	}
	return &wireConn{addr: u.Host, timeout: time.Minute}, nil
}

// do sends method path with body (nil: none) and decodes a 2xx JSON answer into out (nil:
// not decoded). A non-2xx answer comes back as an *api.Error.
func (w *wireConn) do(method, path string, body []byte, out any) (int, error) {
	return w.doAs("", method, path, body, out)
}

// doAs is do as the node whose secret is nodeSecret ("" none), as a worker calls.
func (w *wireConn) doAs(nodeSecret, method, path string, body []byte, out any) (int, error) {
	status, resp, err := w.roundTrip(method, path, nodeSecret, body)
	if err != nil {
		w.Close() // the next request dials again
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if status < 200 || status > 299 {
		var eb api.ErrorBody
		if json.Unmarshal(resp, &eb) != nil || eb.Error == nil {
			eb.Error = &api.Error{Code: "unknown", Message: fmt.Sprintf("%.200s", resp)}
		}
		eb.Error.Status = status
		return status, eb.Error
	}
	if out != nil && len(resp) > 0 {
		if err := json.Unmarshal(resp, out); err != nil {
			return status, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return status, nil
}

func (w *wireConn) roundTrip(method, path, nodeSecret string, body []byte) (int, []byte, error) {
	if w.c == nil {
		c, err := net.DialTimeout("tcp", w.addr, 10*time.Second)
		if err != nil {
			return 0, nil, err
		}
		w.c, w.br = c, bufio.NewReaderSize(c, 64<<10)
	}
	if err := w.c.SetDeadline(time.Now().Add(w.timeout)); err != nil {
		return 0, nil, err
	}
	r := append(w.req[:0], method...)
	r = append(r, ' ')
	r = append(r, path...)
	r = append(r, " HTTP/1.1\r\nHost: "...)
	r = append(r, w.addr...)
	r = append(r, "\r\nUser-Agent: ffrtmp-bench-master\r\nAuthorization: Bearer "+APIKey+"\r\n"...)
	if nodeSecret != "" {
		r = append(r, api.NodeSecretHeader+": "+nodeSecret+"\r\n"...)
	}
	if body != nil {
		r = append(r, "Content-Type: application/json\r\nContent-Length: "...)
		r = strconv.AppendInt(r, int64(len(body)), 10)
		r = append(r, "\r\n"...)
	}
	r = append(r, "\r\n"...)
	r = append(r, body...)
	w.req = r
	if _, err := w.c.Write(r); err != nil {
		return 0, nil, err
	}
	return w.readResponse(method == "HEAD")
}

// readResponse reads one answer: status line, headers, and a body of Content-Length bytes or
// in chunks.
func (w *wireConn) readResponse(head bool) (int, []byte, error) {
	line, err := w.line()
	if err != nil {
		return 0, nil, err
	}
	// HTTP/1.1 201 Created
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, nil, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, fmt.Errorf("bad status line %q", line)
	}
	length, chunked, closing := -1, false, false
	for {
		h, err := w.line()
		if err != nil {
			return 0, nil, err
		}
		if len(h) == 0 {
			break
		}
		k, v, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(v)); err != nil {
				return 0, nil, fmt.Errorf("bad Content-Length %q", v)
			}
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(v, []byte("chunked"))
		case bytes.EqualFold(k, []byte("Connection")):
			closing = bytes.EqualFold(v, []byte("close"))
		}
	}
	b := w.resp[:0]
	switch {
	case head || status == 204 || status == 304:
	case chunked:
		for {
			sl, err := w.line()
			if err != nil {
				return 0, nil, err
			}
			if i := bytes.IndexByte(sl, ';'); i >= 0 {
				sl = sl[:i]
			}
			n, err := strconv.ParseInt(string(bytes.TrimSpace(sl)), 16, 64)
			if err != nil || n < 0 {
				return 0, nil, fmt.Errorf("bad chunk size %q", sl)
			}
			if n == 0 {
				for { // trailers, then the blank line
					t, err := w.line()
					if err != nil {
						return 0, nil, err
					}
					if len(t) == 0 {
						break
					}
				}
				break
			}
			if b, err = w.read(b, int(n)); err != nil {
				return 0, nil, err
			}
			if crlf, err := w.line(); err != nil || len(crlf) != 0 {
				return 0, nil, errors.New("chunk not followed by CRLF")
			}
		}
	case length >= 0:
		if b, err = w.read(b, length); err != nil {
			return 0, nil, err
		}
	default:
		// No length: the body runs to the end of the connection.
		rest, err := io.ReadAll(w.br)
		if err != nil {
			return 0, nil, err
		}
		b = append(b, rest...)
		closing = true
	}
	w.resp = b
	if closing {
		w.Close()
	}
	return status, b, nil
}

// line reads one header line without its CRLF. The slice is valid until the next read.
func (w *wireConn) line() ([]byte, error) {
	l, err := w.br.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	return bytes.TrimRight(l, "\r\n"), nil
}

func (w *wireConn) read(b []byte, n int) ([]byte, error) {
	start := len(b)
	b = slices.Grow(b, n)[:start+n]
	_, err := io.ReadFull(w.br, b[start:])
	return b, err
}

// Close drops the connection.
func (w *wireConn) Close() {
	if w.c != nil {
		w.c.Close()
		w.c, w.br = nil, nil
	}
}

// wireConns are one connection per client.
type wireConns []*wireConn

func newWireConns(baseURL string, n int) (wireConns, error) {
	out := make(wireConns, n)
	for i := range out {
		w, err := newWireConn(baseURL)
		if err != nil {
			return nil, err
		}
		out[i] = w
	}
	return out, nil
}

func (ws wireConns) Close() {
	for _, w := range ws {
		w.Close()
	}
}
