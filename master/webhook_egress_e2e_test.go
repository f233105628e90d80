package master_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/egress"
	"github.com/ffrtmp/ffrtmp/master/mastertest"
)

// public is a public address a test name resolves to when the job is submitted; nothing is
// ever sent to it: the name is rebound before delivery (see rebinding), or refused at submit.
var public = netip.MustParseAddr("93.184.215.14")

// TestCallbackToInternalAddressRefusedAtSubmit: a submitter cannot aim webhooks at the
// master's own network. Each kind of special address, by literal or by a name resolving
// there, is a 400 on callback_url that says why and how an operator allows it, and no job is
// created; the operator's allow list lets one range through.
func TestCallbackToInternalAddressRefusedAtSubmit(t *testing.T) {
	t.Parallel()
	names := egress.HostTable{
		"internal.test": {netip.MustParseAddr("10.0.0.5")},
		"metadata.test": {netip.MustParseAddr("169.254.169.254")},
		"mixed.test":    {public, netip.MustParseAddr("192.168.1.10")},
		"local.test":    {netip.MustParseAddr("127.0.0.1")},
	}
	h := mastertest.Start(t, func(c *master.Config) {
		c.WebhookResolver = resolvers{&rebinding{name: "public.test", first: public}, names}
	})
	sub := h.Client(t, auth.RoleSubmitter)
	ctx := context.Background()
	for url, kind := range map[string]string{
		"http://127.0.0.1:8080/hook":          "127.0.0.1 is a loopback address",
		"http://[::1]/hook":                   "::1 is a loopback address",
		"http://[::ffff:127.0.0.1]/hook":      "::ffff:127.0.0.1 is a loopback address",
		"http://169.254.169.254/latest/meta":  "169.254.169.254 is a link-local address",
		"http://[fe80::1%25eth0]/hook":        "fe80::1 is a link-local address",
		"http://10.0.0.5/hook":                "10.0.0.5 is a private (RFC 1918) address",
		"https://172.16.3.4/hook":             "172.16.3.4 is a private (RFC 1918) address",
		"http://192.168.1.1/hook":             "192.168.1.1 is a private (RFC 1918) address",
		"http://[fd00::5]/hook":               "fd00::5 is a private (unique local) address",
		"http://100.64.1.1/hook":              "100.64.1.1 is a shared (carrier-grade NAT, RFC 6598) address",
		"http://224.0.0.1/hook":               "224.0.0.1 is a multicast address",
		"http://[ff02::1]/hook":               "ff02::1 is a multicast address",
		"http://0.0.0.0:9090/metrics":         "0.0.0.0 is a unspecified (this network) address",
		"http://[::]/hook":                    ":: is a unspecified address",
		"http://255.255.255.255/hook":         "255.255.255.255 is a broadcast address",
		"http://[64:ff9b::a9fe:a9fe]/hook":    "64:ff9b::a9fe:a9fe is a link-local (via NAT64) address",
		"http://internal.test/hook?token=abc": "internal.test resolves to 10.0.0.5, a private (RFC 1918) address",
		"http://metadata.test/latest":         "metadata.test resolves to 169.254.169.254, a link-local address",
		"http://mixed.test/hook":              "mixed.test resolves to 192.168.1.10, a private (RFC 1918) address",
		"http://nowhere.test/hook":            "host nowhere.test does not resolve",
	} {
		_, err := sub.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264", CallbackURL: url}, "")
		var ae *api.Error
		if !errors.As(err, &ae) || ae.Status != http.StatusBadRequest || ae.Code != api.CodeBadRequest || ae.Field != "callback_url" ||
			!strings.HasPrefix(ae.Message, kind) {
			t.Errorf("submit with callback %s: %v, want 400 bad_request on callback_url saying %q", url, err, kind)
			continue
		}
		if !strings.Contains(kind, "does not resolve") && !strings.Contains(ae.Message, "--webhook-allow-cidr") {
			t.Errorf("submit with callback %s: %q does not name --webhook-allow-cidr", url, ae.Message)
		}
	}
	if list, err := sub.ListJobs(ctx, api.ListJobsOptions{}); err != nil || len(list.Jobs) != 0 {
		t.Fatalf("jobs after refused submits: %v %v, want none", list, err)
	}
	if _, err := sub.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264", CallbackURL: "https://public.test/hook"}, ""); err != nil {
		t.Errorf("submit with a public callback: %v", err)
	}

	// The operator allows a range: names and addresses in it pass, the rest stays refused.
	// (Loopback, on a closed port: the webhooks these jobs send go nowhere.)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(closed.Addr().String())
	closed.Close()
	allowed := mastertest.Start(t, func(c *master.Config) {
		c.WebhookResolver = names
		c.WebhookAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	asub := allowed.Client(t, auth.RoleSubmitter)
	for _, url := range []string{"http://local.test:" + port + "/hook", "http://127.0.0.1:" + port + "/hook"} {
		if _, err := asub.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264", CallbackURL: url}, ""); err != nil {
			t.Errorf("submit with callback %s inside --webhook-allow-cidr 127.0.0.0/8: %v", url, err)
		}
	}
	for _, url := range []string{"http://internal.test/hook", "http://[::1]/hook"} {
		if _, err := asub.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264", CallbackURL: url}, ""); err == nil {
			t.Errorf("submit with callback %s, outside the allowed 127.0.0.0/8, was accepted", url)
		}
	}
}

// resolvers asks each resolver in turn until one knows the name.
type resolvers []egress.Resolver

func (rs resolvers) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	var err error
	for _, r := range rs {
		var addrs []netip.Addr
		if addrs, err = r.LookupNetIP(ctx, network, host); err == nil {
			return addrs, nil
		}
	}
	return nil, err
}

// rebinding answers first for the first lookup of name (the submit's check) and 127.0.0.1
// afterwards (the delivery): DNS rebinding.
type rebinding struct {
	name    string
	first   netip.Addr
	lookups atomic.Int32
}

func (r *rebinding) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if host != r.name {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	if r.lookups.Add(1) == 1 {
		return []netip.Addr{r.first}, nil
	}
	return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
}

// TestWebhookRebindingRefusedAtDelivery: a name that was public when the job was submitted
// and points at loopback when the webhook goes out is refused at the connection: the loopback
// receiver gets nothing, and the job's warning says why, once (no retries).
func TestWebhookRebindingRefusedAtDelivery(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(int, http.ResponseWriter, *http.Request) {})
	_, port, _ := net.SplitHostPort(rc.Listener.Addr().String())
	r := &rebinding{name: "rebind.test", first: public}
	h := mastertest.Start(t, func(c *master.Config) {
		c.WebhookSecret = hookSecret
		c.WebhookResolver = r
	})
	sub := h.Client(t, auth.RoleSubmitter)
	job, err := sub.SubmitJob(context.Background(), api.JobRequest{Scenario: "720p30-h264",
		CallbackURL: "http://rebind.test:" + port + "/hook?token=s3cret"}, "")
	if err != nil {
		t.Fatalf("submit while rebind.test is public: %v", err)
	}
	w := waitWarnings(t, sub, job.ID, 1)[0].Message
	want := "webhook job.queued to http://rebind.test:" + port + " given up after 1 attempt: refused: rebind.test resolves to 127.0.0.1, a loopback address"
	if !strings.HasPrefix(w, want) || !strings.Contains(w, "--webhook-allow-cidr") {
		t.Errorf("warning %q, want it to start %q and name --webhook-allow-cidr", w, want)
	}
	if n := len(rc.waitPosts(t, 0)); n != 0 {
		t.Errorf("the loopback receiver got %d POSTs", n)
	}
	if n := r.lookups.Load(); n < 2 {
		t.Errorf("rebind.test was looked up %d times: the delivery did not resolve it again", n)
	}
}

// TestWebhookAllowListReachesLoopbackByName: with loopback allowed, a receiver there is
// reached through a name the master's resolver maps to it, signed as usual.
func TestWebhookAllowListReachesLoopbackByName(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t, func(int, http.ResponseWriter, *http.Request) {})
	_, port, _ := net.SplitHostPort(rc.Listener.Addr().String())
	h := startWithHooks(t, func(c *master.Config) {
		c.WebhookAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		c.WebhookResolver = egress.HostTable{"hooks.test": {netip.MustParseAddr("127.0.0.1")}}
	})
	sub := h.Client(t, auth.RoleSubmitter)
	job, err := sub.SubmitJob(context.Background(), api.JobRequest{Scenario: "720p30-h264", CallbackURL: "http://hooks.test:" + port + "/hook"}, "")
	if err != nil {
		t.Fatal(err)
	}
	p := rc.waitPosts(t, 1)[0]
	if p.event != "job.queued" || p.job != job.ID {
		t.Errorf("receiver got %s for %s, want job.queued for %s", p.event, p.job, job.ID)
	}
	verify(t, p)
}

// TestWebhookFailuresShowNoReceiverData: what a failing receiver says never reaches the job's
// events or view (only its status code does), and a closed port and an open one that does
// not speak HTTP read alike, so webhooks cannot be used to read internal answers or scan ports.
func TestWebhookFailuresShowNoReceiverData(t *testing.T) {
	t.Parallel()
	const secret = "root:x:0:0:root:/root:/bin/bash aws_secret_access_key=wJalrXUtnFEMI"
	failing := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		http.Error(w, secret, http.StatusInternalServerError)
	})
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	open, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { open.Close() })
	go func() {
		for {
			c, err := open.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.6 " + secret + "\r\n"))
			c.Close()
		}
	}()

	h := startWithHooks(t)
	sub := h.Client(t, auth.RoleSubmitter)
	ctx := context.Background()
	jobs := map[string]string{} // target → job ID
	for name, url := range map[string]string{"failing": failing.URL, "closed": "http://" + closedAddr, "open": "http://" + open.Addr().String()} {
		j, err := sub.SubmitJob(ctx, api.JobRequest{Scenario: "720p30-h264", CallbackURL: url + "/hook"}, "")
		if err != nil {
			t.Fatal(err)
		}
		jobs[name] = j.ID
	}
	reasons := map[string]string{}
	for name, id := range jobs {
		w := waitWarnings(t, sub, id, 1)[0].Message
		_, reasons[name], _ = strings.Cut(w, " given up after 8 attempts: ")
		evs, err := sub.JobEvents(ctx, id, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		view, err := sub.GetJob(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		all := view.CallbackURL
		for _, e := range evs.Events {
			all += "\n" + e.Message
		}
		for _, leak := range []string{"aws_secret", "root:x", "SSH-2.0", "refused", "reset", "EOF", "malformed"} {
			if strings.Contains(all, leak) {
				t.Errorf("%s receiver: the job's events show %q:\n%s", name, leak, all)
			}
		}
	}
	if reasons["failing"] != "receiver answered 500" {
		t.Errorf("failing receiver: reason %q, want %q", reasons["failing"], "receiver answered 500")
	}
	if reasons["closed"] != "no answer: connection failed" || reasons["open"] != reasons["closed"] {
		t.Errorf("closed port reads %q, open port %q: want both %q", reasons["closed"], reasons["open"], "no answer: connection failed")
	}
}
