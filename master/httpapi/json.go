package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/farm"
)

// decode reads one JSON value into v: unknown fields, duplicate keys, trailing data, wrong
// types and bodies over the limit are the client's mistakes and answered as such, naming the
// field.
func (s *Server) decode(w http.ResponseWriter, r *http.Request, v any, optional bool) *api.Error {
	body := http.MaxBytesReader(w, r.Body, s.opts.MaxBody)
	data, err := io.ReadAll(body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &api.Error{Status: 413, Code: api.CodeTooLarge, Message: fmt.Sprintf("request body over %d bytes", mbe.Limit)}
		}
		return &api.Error{Status: 400, Code: api.CodeBadRequest, Message: "read body: " + err.Error()}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		if optional {
			return nil
		}
		return &api.Error{Status: 400, Code: api.CodeBadRequest, Message: "empty body: send a JSON object"}
	}
	if trimmed := bytes.TrimSpace(data); !optional && (trimmed[0] != '{') {
		return &api.Error{Status: 400, Code: api.CodeBadRequest, Message: "the body must be a JSON object"}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	// Anything but space after the value (dec.More says no to a stray '}' or ']') is the
	// client's mistake; the duplicate-key walk below then only ever sees one whole value.
	if len(bytes.TrimSpace(data[dec.InputOffset():])) > 0 {
		return &api.Error{Status: 400, Code: api.CodeBadRequest, Message: "trailing data after the JSON object"}
	}
	if p := badKey(data, reflect.TypeOf(v), &s.fields); p != nil {
		if p.want != "" {
			return &api.Error{Status: 400, Code: api.CodeUnknownField, Field: p.path,
				Message: fmt.Sprintf("unknown field %q: field names are case-sensitive, did you mean %q?", p.key, p.want)}
		}
		msg := fmt.Sprintf("duplicate key %q", p.key)
		if parent, ok := strings.CutSuffix(p.path, "."+p.key); ok {
			msg += " in " + parent
		}
		return &api.Error{Status: 400, Code: api.CodeBadRequest, Field: p.path, Message: msg}
	}
	return nil
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// jsonError turns encoding/json's errors into answers that name the field.
func jsonError(err error) *api.Error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	msg := err.Error()
	switch {
	case errors.As(err, &syn):
		return &api.Error{Status: 400, Code: api.CodeBadRequest, Message: fmt.Sprintf("malformed JSON at byte %d: %v", syn.Offset, syn)}
	case errors.As(err, &typ) && typ.Type != nil && reflect.PointerTo(typ.Type).Implements(unmarshalerType):
		// A type that reads itself (rates, bitrates, durations) explains the value in Value.
		return &api.Error{Status: 400, Code: api.CodeBadRequest, Field: typ.Field, Message: fmt.Sprintf("%s: %s", fieldOr(typ.Field), typ.Value)}
	case errors.As(err, &typ):
		field := typ.Field
		return &api.Error{Status: 400, Code: api.CodeBadRequest, Field: field,
			Message: fmt.Sprintf("%s: want %s, got JSON %s", fieldOr(field), typ.Type, typ.Value)}
	case strings.HasPrefix(msg, "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
		return &api.Error{Status: 400, Code: api.CodeUnknownField, Field: f, Message: fmt.Sprintf("unknown field %q", f)}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &api.Error{Status: 400, Code: api.CodeBadRequest, Message: "malformed JSON: unexpected end of body"}
	}
	// Errors from the types' own UnmarshalJSON (rates, bitrates, durations) say which value
	// was wrong.
	return &api.Error{Status: 400, Code: api.CodeBadRequest, Message: strings.TrimPrefix(msg, "json: ")}
}

func fieldOr(f string) string {
	if f == "" {
		return "body"
	}
	return f
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, e *api.Error) {
	status := e.Status
	if status == 0 {
		status = 500
	}
	writeJSON(w, status, api.ErrorBody{Error: e})
}

// writeJobPage writes an api.JobList from jobs already in JSON, without re-encoding them.
func writeJobPage(w http.ResponseWriter, p farm.Page) {
	n := 32
	for _, j := range p.Jobs {
		n += len(j) + 1
	}
	b := make([]byte, 0, n+len(p.NextCursor))
	b = append(b, `{"jobs":[`...)
	for i, j := range p.Jobs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, j...)
	}
	b = append(b, ']')
	if p.NextCursor != "" {
		b = append(b, `,"next_cursor":`...)
		b = strconv.AppendQuote(b, p.NextCursor) // IDs are ULIDs: plain ASCII
	}
	b = append(b, "}\n"...)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
