package cluster

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// The cluster port carries three protocols, told apart by the connection's first byte: raft's
// own RPCs, a one-shot status call (the member answers one JSON memberStatus and closes), and
// a call relayed to the leader (call.go).
const (
	protoRaft   byte = 'R'
	protoStatus byte = 'S'
)

// streamLayer is raft's transport underneath: TCP with mutual TLS, accepting only raft
// connections from Accept and answering status calls itself.
type streamLayer struct {
	ln        net.Listener
	advertise net.Addr
	server    *tls.Config
	client    *tls.Config
	status    func() memberStatus
	log       *slog.Logger

	calls atomic.Pointer[CallHandler]

	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
}

var _ raft.StreamLayer = (*streamLayer)(nil)

func listen(addr string, server, client *tls.Config, status func() memberStatus, log *slog.Logger) (*streamLayer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--cluster-addr %s: %w", addr, err)
	}
	adv, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("--cluster-addr %s: %w", addr, err)
	}
	if adv.IP == nil || adv.IP.IsUnspecified() {
		ln.Close()
		return nil, fmt.Errorf("--cluster-addr %s: give the address the other masters dial, not a wildcard", addr)
	}
	if adv.Port == 0 {
		adv = ln.Addr().(*net.TCPAddr)
	}
	s := &streamLayer{ln: ln, advertise: adv, server: server, client: client, status: status, log: log,
		conns: make(chan net.Conn), done: make(chan struct{})}
	go s.acceptLoop()
	return s, nil
}

func (s *streamLayer) acceptLoop() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			select {
			case <-s.done:
			default:
				s.log.Error("cluster port stopped accepting", "err", err)
				s.Close()
			}
			return
		}
		go s.handshake(c)
	}
}

// handshake finishes TLS and reads the protocol byte, within 10 s: a peer that says nothing
// holds no goroutine for long.
func (s *streamLayer) handshake(raw net.Conn) {
	_ = raw.SetDeadline(time.Now().Add(10 * time.Second))
	c := raw
	if s.server != nil {
		tc := tls.Server(raw, s.server)
		if err := tc.Handshake(); err != nil {
			s.log.Warn("cluster connection refused at the TLS handshake", "remote", raw.RemoteAddr().String(), "err", err)
			raw.Close()
			return
		}
		c = tc
	}
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		c.Close()
		return
	}
	switch b[0] {
	case protoRaft:
		_ = c.SetDeadline(time.Time{})
		select {
		case s.conns <- c:
		case <-s.done:
			c.Close()
		}
	case protoStatus:
		_ = json.NewEncoder(c).Encode(s.status())
		c.Close()
	case protoCall:
		s.serveCall(c)
	default:
		s.log.Warn("cluster connection refused: unknown protocol", "remote", raw.RemoteAddr().String())
		c.Close()
	}
}

func (s *streamLayer) Accept() (net.Conn, error) {
	select {
	case c := <-s.conns:
		return c, nil
	case <-s.done:
		return nil, net.ErrClosed
	}
}

func (s *streamLayer) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.ln.Close()
	})
	return nil
}

func (s *streamLayer) Addr() net.Addr { return s.advertise }

func (s *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return s.dial(ctx, string(address), protoRaft)
}

func (s *streamLayer) dial(ctx context.Context, addr string, proto byte) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if s.client != nil {
		cfg := s.client.Clone()
		if host, _, err := net.SplitHostPort(addr); err == nil && cfg.ServerName == "" {
			cfg.ServerName = host
		}
		tc := tls.Client(c, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, fmt.Errorf("TLS with %s: %w", addr, err)
		}
		c = tc
	}
	if _, err := c.Write([]byte{proto}); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// askStatus asks the member at addr for its status.
func (s *streamLayer) askStatus(ctx context.Context, addr string) (memberStatus, error) {
	c, err := s.dial(ctx, addr, protoStatus)
	if err != nil {
		return memberStatus{}, err
	}
	defer c.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(d)
	}
	var st memberStatus
	if err := json.NewDecoder(bufio.NewReader(io.LimitReader(c, 64<<10))).Decode(&st); err != nil {
		return memberStatus{}, fmt.Errorf("status of %s: %w", addr, err)
	}
	return st, nil
}
