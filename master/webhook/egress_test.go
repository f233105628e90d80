package webhook

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/master/egress"
)

// elsewhere allows a range that has nothing to do with the tests' receivers: the dispatcher
// runs with the default rule for loopback.
var elsewhere = []netip.Prefix{netip.MustParsePrefix("10.99.0.0/16")}

// A receiver on an address the policy refuses is never sent to, by address or by a name that
// resolves there, and the delivery is given up at once with our reason.
func TestRefusedAddressIsNeverSentTo(t *testing.T) {
	rc := newReceiver(t, nil)
	_, port, _ := net.SplitHostPort(rc.Listener.Addr().String())
	out := newMemOutbox()
	var attempts atomic.Int32
	d := startDispatcher(t, out, Options{
		Egress:    egress.Policy{Allow: elsewhere, Resolver: egress.HostTable{"hooks.test": {netip.MustParseAddr("127.0.0.1")}}},
		OnAttempt: func(bool, int, time.Duration) { attempts.Add(1) },
	})
	byAddr := out.add("job-1", rc.URL+"/hook", "job.queued")
	byName := out.add("job-2", "http://hooks.test:"+port+"/hook", "job.queued")
	d.Notify()
	waitFor(t, "both deliveries are given up", out.settled)

	_, retries, gaveUp := out.snapshot()
	if len(retries) != 0 {
		t.Errorf("a refused address was retried: %+v", retries)
	}
	for seq, want := range map[uint64]string{
		byAddr: "refused: 127.0.0.1 is a loopback address; " + NotAllowed,
		byName: "refused: hooks.test resolves to 127.0.0.1, a loopback address; " + NotAllowed,
	} {
		if gaveUp[seq] != want {
			t.Errorf("GiveUp reason = %q, want %q", gaveUp[seq], want)
		}
	}
	if n := len(rc.seen()); n != 0 {
		t.Errorf("the receiver got %d requests, want none", n)
	}
	if !strings.Contains(NotAllowed, "--webhook-allow-cidr") {
		t.Errorf("NotAllowed %q does not name the flag that allows a range", NotAllowed)
	}
}

// A closed port, a port that takes the connection and drops it, and one that speaks another
// protocol all read the same: the job's submitter cannot tell them apart.
func TestConnectionFailuresReadTheSame(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	serve := func(greet string) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				_, _ = c.Write([]byte(greet))
				c.Close()
			}
		}()
		return ln.Addr().String()
	}
	targets := map[string]string{
		"closed port":     closedAddr,
		"dropping port":   serve(""),
		"ssh-like server": serve("SSH-2.0-OpenSSH_9.6 secret-banner\r\n"),
	}
	out := newMemOutbox()
	d := startDispatcher(t, out, Options{MaxAttempts: 1})
	seqs := map[string]uint64{}
	for name, addr := range targets {
		seqs[name] = out.add("job-"+name, "http://"+addr+"/hook", "job.queued")
	}
	d.Notify()
	waitFor(t, "every delivery is given up", out.settled)
	_, _, gaveUp := out.snapshot()
	for name, seq := range seqs {
		if got := gaveUp[seq]; got != "no answer: connection failed" {
			t.Errorf("%s: reason %q, want %q", name, got, "no answer: connection failed")
		}
	}
}

// Whatever a refusing receiver says stays out of what the submitter can read.
func TestReceiverBodyIsNeverStored(t *testing.T) {
	const secret = "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		http.Error(w, secret, http.StatusInternalServerError)
	})
	out := newMemOutbox()
	d := startDispatcher(t, out, Options{MaxAttempts: 2})
	seq := out.add("job-1", rc.URL, "job.queued")
	d.Notify()
	waitFor(t, "the delivery is given up", out.settled)
	_, retries, gaveUp := out.snapshot()
	if len(retries) != 1 || retries[0].lastErr != "receiver answered 500" || gaveUp[seq] != "receiver answered 500" {
		t.Errorf("retries %+v, gave up with %q: want \"receiver answered 500\" for both attempts", retries, gaveUp[seq])
	}
}

func TestCheckCallback(t *testing.T) {
	p := egress.Policy{Allow: elsewhere, Resolver: egress.HostTable{
		"public.test":   {netip.MustParseAddr("93.184.215.14")},
		"internal.test": {netip.MustParseAddr("10.0.0.5")},
		"allowed.test":  {netip.MustParseAddr("10.99.1.2")},
	}}
	ctx := context.Background()
	for _, ok := range []string{"https://public.test/hook?token=x", "http://allowed.test:8080/h", "http://93.184.215.14/h"} {
		if err := CheckCallback(ctx, p, ok); err != nil {
			t.Errorf("CheckCallback(%s) = %v", ok, err)
		}
	}
	for raw, want := range map[string]string{
		"http://internal.test/h":      "internal.test resolves to 10.0.0.5, a private (RFC 1918) address: " + NotAllowed,
		"http://[::1]:8080/h":         "::1 is a loopback address: " + NotAllowed,
		"http://169.254.169.254/meta": "169.254.169.254 is a link-local address: " + NotAllowed,
		"http://nowhere.test/h":       "host nowhere.test does not resolve",
		"ftp://public.test/h":         `callback URL scheme "ftp" is not delivered: only http and https are`,
	} {
		if err := CheckCallback(ctx, p, raw); err == nil || err.Error() != want {
			t.Errorf("CheckCallback(%s) = %v, want %q", raw, err, want)
		}
	}
}
