package httpapi_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/farm"
	"github.com/ffrtmp/ffrtmp/master/mastertest"
)

// liveJobToken returns stream id's live job, as stored (its input unredacted), and the play
// token in the job's input URL.
func liveJobToken(t *testing.T, h *mastertest.Harness, id string) (api.Job, string) {
	t.Helper()
	st, err := h.Master.Streams().Stream(ctxT(t), farm.Admin("test"), id)
	if err != nil || st.JobID == "" {
		t.Fatalf("stream %s: %+v, %v; want a live job", id, st, err)
	}
	j, err := h.Master.Farm().Get(ctxT(t), farm.Admin("test"), st.JobID)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(j.Input)
	if err != nil {
		t.Fatalf("live job input %q: %v", j.Input, err)
	}
	return j, u.Query().Get("token")
}

// TestIngestRoutes: what a standalone ingest (a key with the ingest role) may ask and tell,
// and how the master answers bad questions: 400 naming the field, 403 refusals that do not
// say which part of a secret was wrong, 404 for a stream it does not know.
func TestIngestRoutes(t *testing.T) {
	h := start(t)
	ctx := ctxT(t)
	sub := h.Client(t, auth.RoleSubmitter)
	ing := h.Client(t, auth.RoleIngest)
	key := roleKey[auth.RoleIngest]
	st, err := sub.CreateStream(ctx, api.StreamRequest{Name: "edge-cam", Preset: "abr-480p"})
	if err != nil {
		t.Fatal(err)
	}
	const relayA, relayB = "rtmp://edge-a.example:1935", "rtmps://edge-b.example:443"

	t.Run("who may ask", func(t *testing.T) {
		body := mustJSON(t, api.IngestPublishRequest{App: "live", Key: st.StreamKey, Relay: relayA})
		for _, c := range []struct {
			key    string
			status int
		}{
			{"", http.StatusUnauthorized},
			{"not-a-known-key", http.StatusUnauthorized},
			{roleKey[auth.RoleSubmitter], http.StatusForbidden},
			{roleKey[auth.RoleWorker], http.StatusForbidden},
			{roleKey[auth.RoleIngest], http.StatusOK},
			{roleKey[auth.RoleAdmin], http.StatusOK},
		} {
			if r := call(t, h, "POST", "/v1/ingest/publish", c.key, body); r.Status != c.status {
				t.Errorf("key %q: %d, want %d: %s", c.key, r.Status, c.status, r.Body)
			}
		}
	})

	t.Run("bad bodies", func(t *testing.T) {
		for _, c := range []struct{ path, body, field string }{
			{"/v1/ingest/publish", `{"app":"live","key":"k"}`, "relay"},
			{"/v1/ingest/publish", `{"app":"live","key":"k","relay":"http://edge:1935"}`, "relay"},
			{"/v1/ingest/publish", `{"app":"live","key":"k","relay":"rtmp://edge"}`, "relay"},
			{"/v1/ingest/publish", `{"app":"live","key":"k","relay":"rtmp://edge:1935/live"}`, "relay"},
			{"/v1/ingest/publish", `{"app":"live","key":"k","relay":"rtmp://u:p@edge:1935"}`, "relay"},
			{"/v1/ingest/publish", `{"app":"live","key":"k","relay":"rtmp://edge:1935?x=1"}`, "relay"},
			{"/v1/ingest/publish", `{"app":"","key":"k","relay":"rtmp://edge:1935"}`, "app"},
			{"/v1/ingest/publish", `{"app":"live","key":"","relay":"rtmp://edge:1935"}`, "key"},
			{"/v1/ingest/publish", `{"app":"live","key":"k","relay":"rtmp://edge:1935","stream":"x"}`, "stream"},
			{"/v1/ingest/play", `{"app":"live","stream_id":"x"}`, "token"},
			{"/v1/ingest/play", `{"app":"live","token":"t"}`, "stream_id"},
			{"/v1/ingest/events", `{"type":"restarted","stream_id":"x"}`, "type"},
			{"/v1/ingest/events", `{"type":"stats"}`, "stream_id"},
			{"/v1/ingest/events", `{"type":"published","stream_id":"x","input":{}}`, "relay"},
			{"/v1/ingest/events", `{"type":"published","stream_id":"x","relay":"rtmp://edge:1935"}`, "input"},
			{"/v1/ingest/events", `{"type":"published","stream_id":"x","relay":"rtmp://edge:1935","input":{"width":-1}}`, "input.width"},
			{"/v1/ingest/events", `{"type":"stats","stream_id":"x","relay":"ftp://edge:21"}`, "relay"},
			{"/v1/ingest/events", `{"type":"stats","stream_id":"x","bytes":-5}`, "bytes"},
			{"/v1/ingest/events", `{"type":"stats","stream_id":"x","bitrate_bps":-1}`, "bitrate_bps"},
			{"/v1/ingest/events", `{"type":"stats","stream_id":"x","bytes":"many"}`, "bytes"},
			{"/v1/ingest/events", `{"type":"unpublished","stream_id":"x","input":{}}`, "input"},
		} {
			r := call(t, h, "POST", c.path, key, []byte(c.body))
			e := r.wantError(t, http.StatusBadRequest, "", c.field)
			if e != nil && !strings.Contains(e.Message, c.field) && e.Code != api.CodeUnknownField {
				t.Errorf("%s %s: message %q does not name %s", c.path, c.body, e.Message, c.field)
			}
		}
	})

	t.Run("refusals", func(t *testing.T) {
		_, err := ing.AuthorizePublish(ctx, api.IngestPublishRequest{App: "live", Key: st.StreamKey + "x", Relay: relayA})
		wantRefused(t, err, api.CodePublishRefused, st.StreamKey)
		_, err = ing.AuthorizePublish(ctx, api.IngestPublishRequest{App: "other", Key: st.StreamKey, Relay: relayA})
		wantRefused(t, err, api.CodePublishRefused, st.StreamKey)
		err = ing.AuthorizePlay(ctx, api.IngestPlayRequest{App: "live", StreamID: st.ID, Token: "no-session-yet"})
		wantRefused(t, err, api.CodePlayRefused, "no-session-yet")
		err = ing.IngestEvent(ctx, api.IngestEvent{Type: api.IngestStats, StreamID: "01M8NOSUCHSTREAM0000000000"})
		if !api.IsNotFound(err) {
			t.Errorf("event of an unknown stream: %v, want 404", err)
		}
	})

	t.Run("a session through an ingest", func(t *testing.T) {
		pub, err := ing.AuthorizePublish(ctx, api.IngestPublishRequest{App: "live", Key: st.StreamKey, Relay: relayA})
		if err != nil || pub.StreamID != st.ID || pub.LiveGraceSeconds != 10 || len(pub.Session) < 32 {
			t.Fatalf("authorize publish: %+v, %v; want stream %s, a session and the master's 10 s grace", pub, err, st.ID)
		}
		// News of a session the master did not grant is refused, naming the field.
		forged := api.IngestEvent{Type: api.IngestPublished, StreamID: st.ID, Session: "forged", Relay: relayA,
			Input: &api.StreamInput{VideoCodec: "h264", Width: 320, Height: 180}}
		var ae *api.Error
		if err := ing.IngestEvent(ctx, forged); !errors.As(err, &ae) || ae.Status != 403 || ae.Code != api.CodeIngestSession || ae.Field != "session" {
			t.Fatalf("a published event with a forged session: %v, want 403 %s on field session", err, api.CodeIngestSession)
		}
		published := api.IngestEvent{Type: api.IngestPublished, StreamID: st.ID, Session: pub.Session, Relay: relayA + "/",
			Input: &api.StreamInput{VideoCodec: "h264", Width: 320, Height: 180, FPS: 30, Remote: "198.51.100.7:50000"}}
		if err := ing.IngestEvent(ctx, published); err != nil {
			t.Fatal(err)
		}
		job, token := liveJobToken(t, h, st.ID)
		if want := relayA + "/live/" + st.ID + "?token="; !strings.HasPrefix(job.Input, want) || token == "" {
			t.Errorf("live job input %q, want %s<token>", job.Input, want)
		}
		// The same news again (a retry whose answer was lost) starts nothing new.
		if err := ing.IngestEvent(ctx, published); err != nil {
			t.Fatal(err)
		}
		if again, _ := liveJobToken(t, h, st.ID); again.ID != job.ID {
			t.Errorf("a repeated published event started job %s after %s", again.ID, job.ID)
		}
		if err := ing.AuthorizePlay(ctx, api.IngestPlayRequest{App: "live", StreamID: st.ID, Token: token}); err != nil {
			t.Errorf("the live job's token: %v", err)
		}
		// One publisher per stream, across ingests.
		_, err = ing.AuthorizePublish(ctx, api.IngestPublishRequest{App: "live", Key: st.StreamKey, Relay: relayB})
		wantRefused(t, err, api.CodePublishRefused, st.StreamKey)
		if err := ing.IngestEvent(ctx, api.IngestEvent{Type: api.IngestStats, StreamID: st.ID, Relay: relayA, Session: pub.Session, Bytes: 5000, BitrateBPS: 2.5e6}); err != nil {
			t.Fatal(err)
		}
		view, err := sub.GetStream(ctx, st.ID)
		if err != nil {
			t.Fatal(err)
		}
		if view.State != api.StreamLive || view.Input == nil || view.Input.Bitrate != 2.5e6 || view.Input.Width != 320 {
			t.Errorf("stream view %+v (input %+v): want live, 320 wide at the ingest's 2.5 Mb/s", view, view.Input)
		}
		// News from another ingest the stream is not on is ignored.
		if err := ing.IngestEvent(ctx, api.IngestEvent{Type: api.IngestUnpublished, StreamID: st.ID, Relay: relayB}); err != nil {
			t.Fatal(err)
		}
		if err := sub.DeleteStream(ctx, st.ID); !api.IsCode(err, api.CodeConflict) {
			t.Errorf("delete while the publisher is connected (another ingest's unpublish ignored): %v, want 409", err)
		}
		if err := ing.IngestEvent(ctx, api.IngestEvent{Type: api.IngestUnpublished, StreamID: st.ID, Relay: relayA, Session: pub.Session, Bytes: 9000}); err != nil {
			t.Fatal(err)
		}
		if err := sub.DeleteStream(ctx, st.ID); err != nil {
			t.Errorf("delete after the publisher left: %v", err)
		}
	})
}

// wantRefused checks err is a 403 with code that does not echo secret.
func wantRefused(t *testing.T, err error, code, secret string) {
	t.Helper()
	var e *api.Error
	if !errors.As(err, &e) || e.Status != http.StatusForbidden || e.Code != code {
		t.Errorf("got %v, want 403 %s", err, code)
		return
	}
	if strings.Contains(e.Message, secret) {
		t.Errorf("refusal %q holds the secret", e.Message)
	}
}
