package redact_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/api/redact"
)

// farmKey is a key in the format the farm mints (ffk_ and 64 hex digits).
const farmKey = "ffk_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// Every secret shape the farm has leaked or could leak, as a URL or inside free text: the
// secret must go, what identifies the thing must stay.
func TestText(t *testing.T) {
	for _, c := range []struct {
		name, in, want string
	}{
		{"rtmp stream key", "rtmp://a.example/app/SECRETKEY", "rtmp://a.example/app/***"},
		{"rtmps userinfo, key and query", "rtmps://u:SECRETPW@b.example:443/app/SECRETKEY?x=1", "rtmps://***@b.example:443/app/***?***"},
		{"rtmp play token", "rtmp://127.0.0.1:1935/live/s1?token=SECRETTOKEN", "rtmp://127.0.0.1:1935/live/***?***"},
		{"rtmps query token in text", "connect rtmps://b.example/x/SECRETKEY?token=SECRETTOKEN: refused.",
			"connect rtmps://b.example/x/***?***: refused."},
		{"rtmp without a path", "rtmp://a.example", "rtmp://a.example/***"},
		{"rtmp that does not parse", "rtmp://a.example/%zzSECRETKEY", "rtmp://a.example/***"},
		{"two rtmp URLs in text", "connect rtmp://a.example/app/SECRETKEY: refused; retry rtmps://b.example/x/SECRETKEY2.",
			"connect rtmp://a.example/app/***: refused; retry rtmps://b.example/x/***."},
		{"https userinfo", "https://user:SECRETPW@h.example/in.mp4", "https://***@h.example/in.mp4"},
		{"https userinfo in an error", `open input "https://user:SECRETPW@h.example/in.mp4": 401 Unauthorized`,
			`open input "https://***@h.example/in.mp4": 401 Unauthorized`},
		{"user only", "sftp://SECRETUSER@h.example/x", "sftp://***@h.example/x"},
		{"password with an at sign", "http://u:SECRET@PW@h.example/x", "http://***@h.example/x"},
		{"query token", "https://h.example/in.mp4?token=SECRETTOKEN&a=b", "https://h.example/in.mp4?token=***&a=b"},
		{"apikey", "GET /x?apikey=SECRETAPI failed", "GET /x?apikey=*** failed"},
		{"api_key", "api_key=SECRETAPI", "api_key=***"},
		{"privatekey", "https://h.example/a?privatekey=SECRETPRIV&n=1", "https://h.example/a?privatekey=***&n=1"},
		{"private_key", "private_key=SECRETPRIV", "private_key=***"},
		{"accesskey", "https://h.example/a?AccessKey=SECRETACC", "https://h.example/a?AccessKey=***"},
		{"access_key", "access_key=SECRETACC, retrying", "access_key=***, retrying"},
		{"password quoted", `password="SECRETPW"`, `password="***"`},
		{"passphrase", "srt://h.example:9000?passphrase=SECRETPASS", "srt://h.example:9000?passphrase=***"},
		{"S3 presigned URL", "https://b.s3.amazonaws.com/in.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=SECRETCRED%2F20260101&X-Amz-Date=20260101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Security-Token=SECRETSTS&X-Amz-Signature=SECRETSIG",
			"https://b.s3.amazonaws.com/in.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=***&X-Amz-Date=20260101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Security-Token=***&X-Amz-Signature=***"},
		{"legacy S3 query", "https://b.s3.amazonaws.com/k?AWSAccessKeyId=SECRETID&Signature=SECRETSIG&Expires=1",
			"https://b.s3.amazonaws.com/k?AWSAccessKeyId=***&Signature=***&Expires=1"},
		{"callback URL with a token", "https://hooks.example/cb?token=SECRETTOKEN", "https://hooks.example/cb?token=***"},
		{"headers option", "Authorization: Bearer SECRETBEARER\r\nX-Trace: 1\r\n", "Authorization: ***\r\nX-Trace: 1\r\n"},
		{"headers option quoted in an error", `option headers="Authorization: Basic SECRETBASIC\r\n" refused`,
			`option headers="Authorization: ***\r\n" refused`},
		{"proxy authorization", "Proxy-Authorization: Basic SECRETBASIC", "Proxy-Authorization: ***"},
		{"cookie", "Cookie: session=SECRETSESSION; theme=dark", "Cookie: ***"},
		{"authorization in JSON text", `{"Authorization":"Basic SECRETBASIC"}`, `{"Authorization":"***"}`},
		{"bearer token", "401 for Bearer SECRETJWT.eyJzdWIi.x9", "401 for Bearer ***"},
		{"farm API key", "key " + farmKey + " refused", "key ffk_*** refused"},
		{"node secret", "heartbeat with ffn_00112233445566778899aabbccddeeff failed", "heartbeat with ffn_*** failed"},
		{"farm API key as a bearer", "Bearer " + farmKey, "Bearer ***"},

		// Not secrets: left as they are.
		{"keyframe option", "keyframe=2 keyint=60 twopass=1 multipass=fullres", "keyframe=2 keyint=60 twopass=1 multipass=fullres"},
		{"prose", "forcing key frames every 2 s; a bearer token is needed; monkey=1", "forcing key frames every 2 s; a bearer token is needed; monkey=1"},
		{"file paths", "/srv/media/keys/in.mp4 file:///srv/out/j1/", "/srv/media/keys/in.mp4 file:///srv/out/j1/"},
		{"hls key info file", "hls_key_info_file=/etc/keyinfo", "hls_key_info_file=/etc/keyinfo"},
		{"email", "mail ops@example.com at http://h.example/x", "mail ops@example.com at http://h.example/x"},
		{"WWW-Authenticate", `WWW-Authenticate: Bearer realm="ffrtmp"`, `WWW-Authenticate: Bearer realm="ffrtmp"`},
		{"no secrets in a plain URL", "https://h.example/in.mp4?start=10", "https://h.example/in.mp4?start=10"},
		{"empty", "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := redact.Text(c.in)
			if got != c.want {
				t.Errorf("Text(%q)\n = %q\nwant %q", c.in, got, c.want)
			}
			if again := redact.Text(got); again != got {
				t.Errorf("Text is not idempotent: %q → %q", got, again)
			}
			if !strings.Contains(c.in, " ") && redact.URL(c.in) != c.want {
				t.Errorf("URL(%q) = %q, want %q", c.in, redact.URL(c.in), c.want)
			}
			if got != c.in && !redact.Maybe([]byte(c.in)) {
				t.Errorf("Maybe(%q) = false, but Text changes it", c.in)
			}
			if strings.Contains(got, "SECRET") || strings.Contains(got, farmKey) {
				t.Errorf("Text(%q) = %q still shows a secret", c.in, got)
			}
		})
	}
}

func TestMaybe(t *testing.T) {
	for _, s := range []string{"rtmp://a/b/c", "RTMPS://a/b/c", "x@y", "a=b", "AUTHORIZATION: x", "Set-Cookie: x", "x-api-key: x", "Bearer abc", farmKey} {
		if !redact.Maybe([]byte(s)) {
			t.Errorf("Maybe(%q) = false", s)
		}
	}
	for _, s := range []string{"", "file:///srv/out/j1/", `{"id":"j1","status":"queued","queue":"medium"}`, "keyframes every 2 s"} {
		if redact.Maybe([]byte(s)) {
			t.Errorf("Maybe(%q) = true", s)
		}
	}
}

func TestSecret(t *testing.T) {
	got := redact.Secret("authorizer said: key abc123xyz is unknown (token=T0K)", "abc123xyz")
	if want := "authorizer said: key *** is unknown (token=***)"; got != want {
		t.Errorf("Secret = %q, want %q", got, want)
	}
}

func TestOptions(t *testing.T) {
	in := map[string]string{
		"headers":       "Authorization: Bearer SECRETBEARER\r\nUser-Agent: ffrtmp\r\n",
		"cookies":       "session=SECRETSESSION",
		"password":      "SECRETPW",
		"passphrase":    "SECRETPASS",
		"rtmp_playpath": "SECRETKEY",
		"movflags":      "+faststart",
		"auth_type":     "basic",
	}
	got := redact.Options("rtmp://a.example/app/SECRETKEY", in)
	want := map[string]string{
		"headers":       "Authorization: ***\r\nUser-Agent: ffrtmp\r\n",
		"cookies":       "***",
		"password":      "***",
		"passphrase":    "***",
		"rtmp_playpath": "***",
		"movflags":      "+faststart",
		"auth_type":     "basic",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("option %s = %q, want %q", k, got[k], v)
		}
	}
	if in["password"] != "SECRETPW" {
		t.Error("Options changed the map it was given")
	}
	// rtmp_* options of a target that is not rtmp are not keys.
	if got := redact.Options("https://h.example/in.flv", map[string]string{"rtmp_live": "live"}); got["rtmp_live"] != "live" {
		t.Errorf("rtmp_live of an https input = %q", got["rtmp_live"])
	}
}

func TestJSON(t *testing.T) {
	got := string(redact.JSON(json.RawMessage(`[{"target":"rtmp://a.example/app/SECRETKEY","n":1.5,"api_key":"SECRETAPI","note":"Bearer ` + farmKey + `"}]`)))
	if want := `[{"api_key":"***","n":1.5,"note":"Bearer ***","target":"rtmp://a.example/app/***"}]`; got != want {
		t.Errorf("JSON = %s, want %s", got, want)
	}
	if got := redact.JSON(json.RawMessage(`{"target":"rtmp://a.example/app/SECRETKEY"`)); got != nil {
		t.Errorf("a document that does not parse is shown: %s", got)
	}
}
