package httpapi_test

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master"
	"github.com/ffrtmp/ffrtmp/master/auth"
)

func TestStreamsAPI(t *testing.T) {
	h := start(t, func(c *master.Config) { c.RTMPListen = "127.0.0.1:0" })
	doc, _ := loadDoc(t, h)
	v := newValidator(t, doc, h.URL)
	ctx := ctxT(t)
	sub := v.client(t, h, auth.RoleSubmitter)
	admin := v.client(t, h, auth.RoleAdmin)
	_, port, _ := strings.Cut(h.Master.RTMPAddr().String(), ":")

	// Create: 201 with the key (once), Location, no caching.
	req := api.StreamRequest{Name: "cam1", Preset: "abr-720p", HLS: new(true), Destinations: []string{"rtmp://a.example/live/x", "rtmps://b.example:443/app/y"}}
	raw := call(t, h, "POST", "/v1/streams", roleKey[auth.RoleSubmitter], mustJSON(t, req))
	created := decode[api.Stream](t, raw, http.StatusCreated)
	if created.ID == "" || created.Name != "cam1" || created.State != api.StreamIdle || created.Queue != api.QueueLive || !created.HLS || len(created.Destinations) != 2 {
		t.Fatalf("created: %+v", created)
	}
	if len(created.StreamKey) != 43 || strings.ContainsAny(created.StreamKey, "+/=") {
		t.Fatalf("stream key %q: want 32 random bytes in URL-safe base64", created.StreamKey)
	}
	if raw.Header.Get("Location") != "/v1/streams/"+created.ID || raw.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers: Location %q, Cache-Control %q", raw.Header.Get("Location"), raw.Header.Get("Cache-Control"))
	}
	if want := "rtmp://127.0.0.1:" + port + "/live/"; created.IngestURL != want {
		t.Errorf("ingest_url %q, want %q", created.IngestURL, want)
	}
	if created.HLSURL != "" || created.JobID != "" {
		t.Errorf("an idle stream shows hls_url %q job %q", created.HLSURL, created.JobID)
	}

	// Another through the client (validated against the document), defaults filled in.
	cam2, err := sub.CreateStream(ctx, api.StreamRequest{Name: "cam2", Preset: "abr-480p"})
	if err != nil || cam2.StreamKey == "" || !cam2.HLS || cam2.Queue != api.QueueLive {
		t.Fatalf("create cam2: %+v, %v", cam2, err)
	}

	// Get and list: never the key.
	for _, path := range []string{"/v1/streams", "/v1/streams/" + created.ID} {
		r := call(t, h, "GET", path, roleKey[auth.RoleAdmin], nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, r.Status, r.Body)
		}
		if bytes.Contains(r.Body, []byte(created.StreamKey)) || bytes.Contains(r.Body, []byte(cam2.StreamKey)) || bytes.Contains(r.Body, []byte("stream_key")) {
			t.Errorf("GET %s shows a stream key: %s", path, r.Body)
		}
	}
	got, err := sub.GetStream(ctx, created.ID)
	if err != nil || got.Name != "cam1" || got.Preset != "abr-720p" || got.State != api.StreamIdle || got.IngestURL == "" {
		t.Fatalf("get: %+v, %v", got, err)
	}
	list, err := sub.ListStreams(ctx)
	if err != nil || len(list.Streams) != 2 || list.Streams[0].Name != "cam1" || list.Streams[1].Name != "cam2" {
		t.Fatalf("list: %+v, %v", list, err)
	}

	// Rotate: a new key in the answer, then never again.
	rot, err := sub.RotateStreamKey(ctx, created.ID)
	if err != nil || rot.StreamKey == "" || rot.StreamKey == created.StreamKey || rot.ID != created.ID {
		t.Fatalf("rotate: %+v, %v", rot, err)
	}
	if r := call(t, h, "GET", "/v1/streams/"+created.ID, roleKey[auth.RoleSubmitter], nil); bytes.Contains(r.Body, []byte(rot.StreamKey)) {
		t.Error("GET shows the rotated key")
	}

	// Errors.
	_, err = sub.CreateStream(ctx, api.StreamRequest{Name: "cam1", Preset: "abr-720p"})
	wantAPIError(t, err, 409, api.CodeConflict, "name")
	_, err = sub.GetStream(ctx, "01ARZ3NDEKTSV4RRFFQ69G5FAV")
	wantAPIError(t, err, 404, api.CodeNotFound, "-")
	_, err = sub.RotateStreamKey(ctx, "01ARZ3NDEKTSV4RRFFQ69G5FAV")
	wantAPIError(t, err, 404, api.CodeNotFound, "-")
	wantAPIError(t, sub.DeleteStream(ctx, "01ARZ3NDEKTSV4RRFFQ69G5FAV"), 404, api.CodeNotFound, "-")

	// Delete.
	if err := admin.DeleteStream(ctx, cam2.ID); err != nil {
		t.Fatal(err)
	}
	_, err = sub.GetStream(ctx, cam2.ID)
	wantAPIError(t, err, 404, api.CodeNotFound, "-")
	if list, _ := sub.ListStreams(ctx); len(list.Streams) != 1 {
		t.Errorf("%d streams after a delete, want 1", len(list.Streams))
	}
	if err := sub.DeleteStream(ctx, created.ID); err != nil {
		t.Fatal(err)
	}
	if list, err := sub.ListStreams(ctx); err != nil || list.Streams == nil || len(list.Streams) != 0 {
		t.Errorf("an empty list: %+v, %v", list, err)
	}

	v.report(t)
	for _, k := range []string{"POST /v1/streams 201", "POST /v1/streams 409", "GET /v1/streams 200", "GET /v1/streams/{id} 200",
		"GET /v1/streams/{id} 404", "POST /v1/streams/{id}/rotate-key 200", "DELETE /v1/streams/{id} 204"} {
		if v.checked[k] == 0 {
			t.Errorf("no answer validated for %s", k)
		}
	}
}

// TestStreamsValidation: every refused request names its field.
func TestStreamsValidation(t *testing.T) {
	h := start(t)
	key := roleKey[auth.RoleSubmitter]
	nine := `["rtmp://a/1","rtmp://a/2","rtmp://a/3","rtmp://a/4","rtmp://a/5","rtmp://a/6","rtmp://a/7","rtmp://a/8","rtmp://a/9"]`
	for _, c := range []struct {
		body, code, field string
	}{
		{`{"preset":"abr-720p"}`, api.CodeBadRequest, "name"},
		{`{"name":"","preset":"abr-720p"}`, api.CodeBadRequest, "name"},
		{`{"name":"` + strings.Repeat("x", 65) + `","preset":"abr-720p"}`, api.CodeBadRequest, "name"},
		{`{"name":"cam 1","preset":"abr-720p"}`, api.CodeBadRequest, "name"},
		{`{"name":"..","preset":"abr-720p"}`, api.CodeBadRequest, "name"},
		{`{"name":"cam/1","preset":"abr-720p"}`, api.CodeBadRequest, "name"},
		{`{"name":"cam1"}`, api.CodeBadRequest, "preset"},
		{`{"name":"cam1","preset":"no-such"}`, api.CodeBadRequest, "preset"},
		{`{"name":"cam1","preset":"abr-720p","queue":"urgent"}`, api.CodeBadRequest, "queue"},
		{`{"name":"cam1","preset":"abr-720p","destinations":["http://a/b"]}`, api.CodeBadRequest, "destinations[0]"},
		{`{"name":"cam1","preset":"abr-720p","destinations":["rtmp://a/b","file:///etc/passwd"]}`, api.CodeBadRequest, "destinations[1]"},
		{`{"name":"cam1","preset":"abr-720p","destinations":["rtmp:///no-host"]}`, api.CodeBadRequest, "destinations[0]"},
		{`{"name":"cam1","preset":"abr-720p","destinations":` + nine + `}`, api.CodeBadRequest, "destinations"},
		{`{"name":"cam1","preset":"abr-720p","destinations":"rtmp://a/b"}`, api.CodeBadRequest, "destinations"},
		{`{"name":"cam1","preset":"abr-720p","hls":"yes"}`, api.CodeBadRequest, "hls"},
		{`{"name":"cam1","preset":"abr-720p","stream_key":"mine"}`, api.CodeUnknownField, "stream_key"},
		{`{"name":"cam1","preset":"abr-720p","id":"x"}`, api.CodeUnknownField, "id"},
		{`{"name":"cam1","preset":"abr-720p","bogus":1}`, api.CodeUnknownField, "bogus"},
	} {
		t.Run(c.body, func(t *testing.T) {
			call(t, h, "POST", "/v1/streams", key, []byte(c.body)).wantError(t, 400, c.code, c.field)
		})
	}
	// Nothing was created by the refused requests.
	r := call(t, h, "GET", "/v1/streams", key, nil)
	if l := decode[api.StreamList](t, r, 200); len(l.Streams) != 0 {
		t.Fatalf("refused requests created %d streams", len(l.Streams))
	}
	// rotate-key takes no body but an empty object; anything else is refused.
	st := decode[api.Stream](t, call(t, h, "POST", "/v1/streams", key, []byte(`{"name":"cam1","preset":"abr-720p"}`)), 201)
	call(t, h, "POST", "/v1/streams/"+url.PathEscape(st.ID)+"/rotate-key", key, []byte(`{"key":"mine"}`)).wantError(t, 400, api.CodeUnknownField, "key")
	decode[api.Stream](t, call(t, h, "POST", "/v1/streams/"+st.ID+"/rotate-key", key, []byte(`{}`)), 200)
}

// TestStreamsRoles: admins and submitters manage streams; workers and strangers may not.
func TestStreamsRoles(t *testing.T) {
	h := start(t)
	body := []byte(`{"name":"cam1","preset":"abr-720p"}`)
	st := decode[api.Stream](t, call(t, h, "POST", "/v1/streams", roleKey[auth.RoleAdmin], body), 201)
	routes := []struct{ method, path string }{
		{"POST", "/v1/streams"}, {"GET", "/v1/streams"}, {"GET", "/v1/streams/" + st.ID},
		{"POST", "/v1/streams/" + st.ID + "/rotate-key"}, {"DELETE", "/v1/streams/" + st.ID},
	}
	for _, rt := range routes {
		var b []byte
		if rt.method == "POST" && rt.path == "/v1/streams" {
			b = []byte(`{"name":"other","preset":"abr-720p"}`)
		}
		call(t, h, rt.method, rt.path, roleKey[auth.RoleWorker], b).wantError(t, 403, api.CodeForbidden, "-")
		call(t, h, rt.method, rt.path, "", b).wantError(t, 401, api.CodeUnauthorized, "-")
		call(t, h, rt.method, rt.path, "not-a-key", b).wantError(t, 401, api.CodeUnauthorized, "-")
	}
	// The stream is untouched by the refused calls; a submitter may do all of it.
	sub := h.Client(t, auth.RoleSubmitter)
	ctx := ctxT(t)
	if _, err := sub.GetStream(ctx, st.ID); err != nil {
		t.Fatalf("the stream after refused calls: %v", err)
	}
	if _, err := sub.CreateStream(ctx, api.StreamRequest{Name: "other", Preset: "abr-720p"}); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.RotateStreamKey(ctx, st.ID); err != nil {
		t.Fatal(err)
	}
	if err := sub.DeleteStream(ctx, st.ID); err != nil {
		t.Fatal(err)
	}
}
