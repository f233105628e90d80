package api

import (
	"bytes"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"

	"github.com/ffrtmp/ffrtmp/engine/spec"
)

// Redacted is what stands in for a secret in a redacted view.
const Redacted = "***"

// rtmpSchemes are the URL schemes whose last path segment is a stream key.
var rtmpSchemes = map[string]bool{"rtmp": true, "rtmps": true, "rtmpt": true, "rtmpe": true, "rtmpte": true, "rtmpts": true}

// IsRTMPURL reports whether s is an rtmp-family URL (rtmp, rtmps, rtmpt, rtmpe, ...).
func IsRTMPURL(s string) bool {
	scheme, _, ok := strings.Cut(s, "://")
	return ok && rtmpSchemes[strings.ToLower(scheme)]
}

// RedactURL hides the secrets of an rtmp-family URL: it keeps the scheme, host, port and
// application path, and replaces the last path segment (the stream key), the query and any
// userinfo with "***". Other strings are returned unchanged, except that the values of
// secret-looking query parameters (token=, key=, ...) are hidden too.
func RedactURL(s string) string {
	if !IsRTMPURL(s) {
		return redactParams(s)
	}
	scheme, rest, _ := strings.Cut(s, "://")
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		// Unparseable: keep only what is surely not the key.
		host, _, _ := strings.Cut(rest, "/")
		if _, h, ok := strings.Cut(host, "@"); ok {
			host = Redacted + "@" + h
		}
		return scheme + "://" + strings.NewReplacer("?", "", "#", "").Replace(host) + "/" + Redacted
	}
	var b strings.Builder
	b.WriteString(scheme)
	b.WriteString("://")
	if u.User != nil {
		b.WriteString(Redacted + "@")
	}
	b.WriteString(u.Host)
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		path = path[:i] // drop the key
	}
	b.WriteString(path)
	b.WriteString("/" + Redacted)
	if u.RawQuery != "" || u.ForceQuery {
		b.WriteString("?" + Redacted)
	}
	return b.String()
}

var (
	// urlInText finds rtmp-family URLs in free text (error messages, log lines).
	urlInText = regexp.MustCompile(`(?i)\brtmp[a-z]{0,2}://[^\s"'<>]+`)
	// secretParam finds secret-looking key=value pairs in free text and URL queries.
	secretParam = regexp.MustCompile(`(?i)\b((?:[a-z0-9_]*_)?(?:token|key|secret|password|passwd|pass|auth|signature|sig))=([^&\s"'<>]+)`)
)

func redactParams(s string) string {
	if !strings.Contains(s, "=") {
		return s
	}
	return secretParam.ReplaceAllString(s, "${1}="+Redacted)
}

// RedactText hides, in free text, the secrets of every rtmp-family URL (as RedactURL) and the
// values of secret-looking key=value pairs (token=, key=, password=, ...).
func RedactText(s string) string {
	if s == "" {
		return s
	}
	s = urlInText.ReplaceAllStringFunc(s, func(m string) string {
		trail := len(m)
		for trail > 0 && strings.ContainsRune(".,;:)]}", rune(m[trail-1])) {
			trail--
		}
		return RedactURL(m[:trail]) + m[trail:]
	})
	return redactParams(s)
}

// Redact returns j with the secrets of its URLs hidden, for callers that are not the worker
// running it: rtmp-family input and output targets lose their stream keys, play tokens and
// userinfo (RedactURL), and free text that may quote them (errors, engine details, restream
// errors) is passed through RedactText. j itself is not changed.
func (j Job) Redact() Job {
	j.Input = RedactURL(j.Input)
	j.Output = RedactURL(j.Output)
	j.Spec.Input.URL = RedactURL(j.Spec.Input.URL)
	j.Spec.Input.Options = redactOptions(j.Spec.Input.Options, IsRTMPURL(j.Spec.Input.URL))
	if len(j.Spec.Outputs) > 0 {
		outs := make([]spec.Output, len(j.Spec.Outputs))
		copy(outs, j.Spec.Outputs)
		for i := range outs {
			rtmp := IsRTMPURL(outs[i].Target)
			outs[i].Target = RedactURL(outs[i].Target)
			outs[i].Options = redactOptions(outs[i].Options, rtmp)
		}
		j.Spec.Outputs = outs
	}
	j.Progress = j.Progress.redact()
	if j.Result != nil {
		r := *j.Result
		if len(r.Outputs) > 0 {
			r.Outputs = make([]string, len(j.Result.Outputs))
			for i, o := range j.Result.Outputs {
				r.Outputs[i] = RedactText(o)
			}
		}
		r.Details = redactJSON(r.Details)
		r.Restreams = redactRestreams(r.Restreams)
		j.Result = &r
	}
	if j.Error != nil {
		e := *j.Error
		e.Message = RedactText(e.Message)
		j.Error = &e
	}
	return j
}

// Redact returns e with its message, error and progress redacted as Job.Redact does.
func (e Event) Redact() Event {
	e.Message = RedactText(e.Message)
	if e.Error != nil {
		je := *e.Error
		je.Message = RedactText(je.Message)
		e.Error = &je
	}
	e.Progress = e.Progress.redact()
	return e
}

func (p *Progress) redact() *Progress {
	if p == nil || len(p.Outputs) == 0 {
		return p
	}
	c := *p
	c.Outputs = redactRestreams(p.Outputs)
	return &c
}

func redactRestreams(in []OutputProgress) []OutputProgress {
	if len(in) == 0 {
		return in
	}
	out := make([]OutputProgress, len(in))
	copy(out, in)
	for i := range out {
		out[i].LastError = RedactText(out[i].LastError)
	}
	return out
}

// redactOptions hides option values that may carry credentials: all of them for an rtmp
// URL's options (rtmp_playpath, rtmp_conn, ... name the key), secret-looking ones otherwise.
func redactOptions(opts map[string]string, rtmp bool) map[string]string {
	if len(opts) == 0 {
		return opts
	}
	out := make(map[string]string, len(opts))
	for k, v := range opts {
		lk := strings.ToLower(k)
		switch {
		case rtmp && strings.HasPrefix(lk, "rtmp_"), secretParam.MatchString(lk + "=x"):
			out[k] = Redacted
		default:
			out[k] = RedactText(v)
		}
	}
	return out
}

// redactJSON passes every string of a JSON document through RedactText. A document that
// does not parse is dropped rather than shown unredacted.
func redactJSON(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return raw
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil
	}
	out, err := json.Marshal(redactValue(v))
	if err != nil {
		return nil
	}
	return out
}

func redactValue(v any) any {
	switch t := v.(type) {
	case string:
		return RedactText(t)
	case []any:
		for i := range t {
			t[i] = redactValue(t[i])
		}
	case map[string]any:
		for k, x := range t {
			t[k] = redactValue(x)
		}
	}
	return v
}
