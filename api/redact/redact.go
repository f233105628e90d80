// Package redact hides secrets in the strings the farm shows to people and programs: job
// views, job events, webhook payloads, stream views, logs and the CLI. It is the one rule
// for all of them; it depends on the standard library only, so every part of ffrtmp (api,
// engine, rtmp, master, worker, the CLI) can use it.
//
// What counts as a secret, and what stands in for it ([Mask], "***"):
//
//   - The userinfo of a URL of any scheme, user and password both:
//     https://user:pw@host/path becomes https://***@host/path.
//   - The stream key of an rtmp-family URL (rtmp, rtmps, rtmpt, rtmpe, rtmpte, rtmpts): its
//     last path segment, and its whole query (play tokens):
//     rtmps://host/app/KEY?token=T becomes rtmps://host/app/***?***.
//   - The value of a secret-looking key=value pair, in a URL query or in free text: names
//     that are, or end (after "_", "-" or ".") in, token, key, keyid, secret, password,
//     passwd, pass, pwd, passphrase, auth, authorization, signature, sig, credential(s),
//     also glued to api, private, access, secret, stream, session, security, client,
//     refresh, id or awsaccess (apikey, privatekey, accesskey, streamkey, AWSAccessKeyId).
//     This covers S3 presigned URLs (X-Amz-Signature, X-Amz-Credential,
//     X-Amz-Security-Token). "keyframe=2", "keyint=60" or "twopass=1" are not secrets.
//   - The value of an Authorization, Proxy-Authorization, Cookie, Set-Cookie or X-Api-Key
//     header, in free text and in libav's "headers" option ("Authorization: Bearer x\r\n"),
//     up to the end of its line.
//   - A bearer token ("Bearer eyJhbGci..."): a word after "Bearer" of at least 8
//     characters with a digit or symbol in it, or of at least 20 (so prose such as "a
//     bearer token" stays readable).
//   - The farm's own secrets, API keys ("ffk_" and hex, as `ffrtmp master gen-key` mints
//     them) and node secrets ("ffn_" and hex), wherever they appear.
//
// Ordinary text passes unchanged: file paths, "key frames", option names without values.
// Redaction is idempotent: redacting redacted text changes nothing.
package redact

import (
	"bytes"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
)

// Mask is what stands in for a secret.
const Mask = "***"

// The prefixes of the secrets the farm mints (API keys, node secrets); Text hides such
// secrets wherever they are.
const (
	APIKeyPrefix     = "ffk_"
	NodeSecretPrefix = "ffn_"
)

// rtmpSchemes are the URL schemes whose last path segment is a stream key.
var rtmpSchemes = map[string]bool{"rtmp": true, "rtmps": true, "rtmpt": true, "rtmpe": true, "rtmpte": true, "rtmpts": true}

// IsRTMP reports whether s is an rtmp-family URL (rtmp, rtmps, rtmpt, rtmpe, ...).
func IsRTMP(s string) bool {
	scheme, _, ok := strings.Cut(s, "://")
	return ok && rtmpSchemes[strings.ToLower(scheme)]
}

// secretName is a key=value or option name whose value is a secret (see the package doc).
const secretName = `(?:[a-z0-9]+[_.-])*` +
	`(?:api|private|access|secret|stream|session|security|client|refresh|id|awsaccess)?` +
	`(?:token|key|keyid|secret|password|passwd|pass|pwd|passphrase|auth|authorization|signature|sig|credentials?)`

var (
	// rtmpInText finds rtmp-family URLs in free text.
	rtmpInText = regexp.MustCompile(`(?i)\brtmp[a-z]{0,2}://[^\s"'<>]+`)
	// userinfo finds the userinfo of a URL of any scheme (up to the authority's last '@').
	userinfo = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://)[^\s/?#"'<>]*@`)
	// secretParam finds secret-looking key=value pairs; the value may be quoted.
	secretParam = regexp.MustCompile(`(?i)\b(` + secretName + `=["']?)[^&\s"'<>,;)\]}]+`)
	// secretOption is a whole option name whose value is a secret.
	secretOption = regexp.MustCompile(`(?i)^(?:` + secretName + `|cookies)$`)
	// header finds credential-carrying header lines; the value runs to the end of the line
	// (or of the quoted string that holds it).
	header = regexp.MustCompile(`(?i)\b((?:proxy-)?authorization|set-cookie|cookie|x-api-key)(["']?[ \t]*[:=][ \t]*["']?)[^\r\n"'\\]+`)
	// bearer finds a bearer token; bearerToken decides whether the word is one.
	bearer = regexp.MustCompile(`(?i)\b(bearer[ \t]+)([A-Za-z0-9._~+/=-]+)`)
	// farmSecret finds the farm's own API keys and node secrets.
	farmSecret = regexp.MustCompile(`(` + APIKeyPrefix + `|` + NodeSecretPrefix + `)[0-9A-Fa-f]{8,}`)
)

// URL hides the secrets of one URL, target or path: an rtmp-family URL keeps its scheme,
// host, port and application path, and loses its stream key, query and userinfo; any other
// string is redacted as Text (userinfo, secret-looking query values).
func URL(s string) string {
	if !IsRTMP(s) {
		return Text(s)
	}
	scheme, rest, _ := strings.Cut(s, "://")
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		// Unparseable: keep only what is surely not the key.
		host, _, _ := strings.Cut(rest, "/")
		if i := strings.LastIndexByte(host, '@'); i >= 0 {
			host = Mask + "@" + host[i+1:]
		}
		return scheme + "://" + strings.NewReplacer("?", "", "#", "").Replace(host) + "/" + Mask
	}
	var b strings.Builder
	b.WriteString(scheme)
	b.WriteString("://")
	if u.User != nil {
		b.WriteString(Mask + "@")
	}
	b.WriteString(u.Host)
	path := strings.TrimSuffix(u.EscapedPath(), "/")
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		path = path[:i] // drop the key
	}
	b.WriteString(path)
	b.WriteString("/" + Mask)
	if u.RawQuery != "" || u.ForceQuery {
		b.WriteString("?" + Mask)
	}
	return b.String()
}

// Text hides every secret that free text (an error message, a log line, a header block)
// quotes: the secrets of URLs (as URL), secret-looking key=value pairs, credential headers,
// bearer tokens and the farm's API keys.
func Text(s string) string {
	if s == "" {
		return s
	}
	if strings.Contains(s, "://") {
		s = rtmpInText.ReplaceAllStringFunc(s, func(m string) string {
			trail := len(m)
			for trail > 0 && strings.ContainsRune(".,;:)]}", rune(m[trail-1])) {
				trail--
			}
			return URL(m[:trail]) + m[trail:]
		})
		if strings.Contains(s, "@") {
			s = userinfo.ReplaceAllString(s, "${1}"+Mask+"@")
		}
	}
	if strings.ContainsAny(s, "=:") {
		s = header.ReplaceAllString(s, "${1}${2}"+Mask)
		if strings.Contains(s, "=") {
			s = secretParam.ReplaceAllString(s, "${1}"+Mask)
		}
	}
	if len(s) >= len("bearer ") {
		s = bearer.ReplaceAllStringFunc(s, func(m string) string {
			sub := bearer.FindStringSubmatch(m)
			if !bearerToken(sub[2]) {
				return m
			}
			return sub[1] + Mask
		})
	}
	if strings.Contains(s, APIKeyPrefix) || strings.Contains(s, NodeSecretPrefix) {
		s = farmSecret.ReplaceAllString(s, "${1}"+Mask)
	}
	return s
}

// Maybe reports, fast, whether Text could change b: whether it holds '=', '@', an rtmp URL,
// a credential header, "Bearer" or an API key. It errs towards yes; callers that hold many
// stored documents use it to skip those with nothing to hide.
func Maybe(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] == '=' || b[i] == '@' {
			return true
		}
		var word string
		switch b[i] | 0x20 {
		case 'r':
			word = "rtmp"
		case 'a':
			word = "authorization"
		case 'c':
			word = "cookie"
		case 'x':
			word = "x-api-key"
		case 'b':
			word = "bearer"
		case 'f':
			if hasFoldPrefix(b[i:], NodeSecretPrefix) {
				return true
			}
			word = APIKeyPrefix
		default:
			continue
		}
		if hasFoldPrefix(b[i:], word) {
			return true
		}
	}
	return false
}

// hasFoldPrefix reports whether b starts with the lower-case ASCII word, in any case.
func hasFoldPrefix(b []byte, word string) bool {
	if len(b) < len(word) {
		return false
	}
	for j := 0; j < len(word); j++ {
		if c := b[j]; c != word[j] && c|0x20 != word[j] {
			return false
		}
	}
	return true
}

// bearerToken reports whether the word after "Bearer" looks like a token rather than prose.
func bearerToken(w string) bool {
	if w == Mask {
		return false
	}
	if len(w) >= 20 {
		return true
	}
	return len(w) >= 8 && strings.ContainsAny(w, "0123456789._~+/=-")
}

// Options hides the values of libav options that carry credentials, for the options of
// target (an input URL or an output target): every rtmp_* option of an rtmp-family target
// (rtmp_playpath, rtmp_conn, ... name the key), options whose name is secret-looking
// (password, passphrase, encryption_key, cookies, ...) entirely, and the secrets within
// the others (the Authorization line of "headers"). opts itself is not changed.
func Options(target string, opts map[string]string) map[string]string {
	if len(opts) == 0 {
		return opts
	}
	rtmp := IsRTMP(target)
	out := make(map[string]string, len(opts))
	for k, v := range opts {
		switch {
		case rtmp && strings.HasPrefix(strings.ToLower(k), "rtmp_"), secretOption.MatchString(k):
			out[k] = Mask
		default:
			out[k] = Text(v)
		}
	}
	return out
}

// JSON redacts a JSON document: the value of every member whose name is secret-looking is
// hidden, every other string passes through Text. A document that does not parse is
// dropped (nil) rather than shown unredacted.
func JSON(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return raw
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil
	}
	out, err := json.Marshal(value(v))
	if err != nil {
		return nil
	}
	return out
}

func value(v any) any {
	switch t := v.(type) {
	case string:
		return Text(t)
	case []any:
		for i := range t {
			t[i] = value(t[i])
		}
	case map[string]any:
		for k, x := range t {
			if _, ok := x.(string); ok && secretOption.MatchString(k) {
				t[k] = Mask
				continue
			}
			t[k] = value(x)
		}
	}
	return v
}

// Secret replaces every occurrence of a known secret (a stream key, a token the caller
// holds) in s with Mask, then redacts the rest as Text. An empty secret hides nothing more.
func Secret(s, secret string) string {
	if secret != "" {
		s = strings.ReplaceAll(s, secret, Mask)
	}
	return Text(s)
}
