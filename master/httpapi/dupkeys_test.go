package httpapi

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/api"
)

// TestDuplicateKey checks the walk on the shapes a body takes: flat, nested, in arrays,
// escaped, in strings that only look like keys, and objects big enough to switch to a map.
func TestDuplicateKey(t *testing.T) {
	many := func(n int, dup bool) string {
		var b strings.Builder
		b.WriteString(`{"labels":{`)
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"k%d":"v"`, i)
		}
		if dup {
			b.WriteString(`,"k3":"again"`)
		}
		b.WriteString(`}}`)
		return b.String()
	}
	for _, c := range []struct{ name, body, key, path string }{
		{"none", `{"scenario":"4k60","priority":5}`, "", ""},
		{"top level", `{"priority":5,"scenario":"4k60","priority":-100}`, "priority", "priority"},
		{"nested", `{"parameters":{"duration":3,"duration":9}}`, "duration", "parameters.duration"},
		{"in an array", `{"spec":{"outputs":[{"target":"a"},{"target":"b","target":"c"}]}}`, "target", "spec.outputs[1].target"},
		{"array of arrays", `{"a":[[1],[2,{"x":1,"x":2}]]}`, "x", "a[1][1].x"},
		{"escaped twin", `{"priority":5,"priorit\u0079":9}`, "priority", "priority"},
		{"same key in sibling objects", `{"a":{"x":1},"b":{"x":1},"c":[{"x":1},{"x":2}]}`, "", ""},
		{"keys inside strings", `{"a":"\"a\":1,","b":"{\"a\":2}","c":"]"}`, "", ""},
		{"case differs", `{"labels":{"Env":"a","env":"b"}}`, "", ""},
		{"after a nested object", `{"a":{"b":{"c":1}},"d":[1,{"e":2}],"a":3}`, "a", "a"},
		{"empty key twice", `{"":1,"":2}`, "", ""},
		{"big object", many(100, false), "", ""},
		{"big object with a twin", many(100, true), "k3", "labels.k3"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !json.Valid([]byte(c.body)) {
				t.Fatalf("test body is not JSON: %s", c.body)
			}
			key, path, dup := duplicateKey([]byte(c.body))
			if c.name == "empty key twice" {
				if !dup || key != "" || path != "" {
					t.Errorf("got %q at %q (%v), want the empty key found", key, path, dup)
				}
				return
			}
			if dup != (c.key != "") || key != c.key || path != c.path {
				t.Errorf("got key %q at %q (dup %v), want %q at %q", key, path, dup, c.key, c.path)
			}
		})
	}
}

// BenchmarkDuplicateKey measures the walk over a typical job request (it runs on every
// submit, after encoding/json has decoded the same body).
func BenchmarkDuplicateKey(b *testing.B) {
	body := []byte(`{"input":"file:///srv/in/a.mp4","preset":"abr-720p","output":"file:///srv/out/j2/","queue":"high",` +
		`"priority":10,"labels":{"team":"news","show":"evening"},"callback_url":"https://hooks.example/x",` +
		`"spec":{"input":{"url":"/srv/in/a.mp4"},"outputs":[{"container":"mp4","target":"/srv/out/a.mp4","options":{"movflags":"+faststart"}},` +
		`{"container":"hls","target":"/srv/out/b/","video":{"codec":"libx264","height":720,"bitrate":"3M"}}]}}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, dup := duplicateKey(body); dup {
			b.Fatal("duplicate in the benchmark body")
		}
	}
}

// TestCaseVariantKeys: encoding/json sets a struct field from a key in any case, so a
// case variant is a twin a proxy reading the exact name would not see. Struct fields must be
// named exactly; map keys (labels, options) keep their case and may differ only in it.
func TestCaseVariantKeys(t *testing.T) {
	var fc fieldCache
	typ := reflect.TypeFor[api.JobRequest]()
	for _, c := range []struct{ name, body, key, path, want string }{
		{"exact names", `{"scenario":"4k60","priority":5,"labels":{"Env":"a","env":"b"}}`, "", "", ""},
		{"a field in another case", `{"scenario":"4k60","Priority":5}`, "Priority", "Priority", "priority"},
		{"a case twin", `{"priority":5,"PRIORITY":-100}`, "PRIORITY", "PRIORITY", "priority"},
		{"nested", `{"spec":{"Outputs":[]}}`, "Outputs", "spec.Outputs", "outputs"},
		{"in an array", `{"spec":{"input":{"url":"a"},"outputs":[{"target":"a"},{"Target":"b"}]}}`, "Target", "spec.outputs[1].Target", "target"},
		{"a map under a struct", `{"spec":{"outputs":[{"options":{"MovFlags":"x","movflags":"y"}}]}}`, "", "", ""},
		{"a value that reads itself", `{"max_run_time":"1h","spec":{"outputs":[{"video":{"fps":"30000/1001","bitrate":"3M"}}]}}`, "", "", ""},
		{"an exact twin still", `{"queue":"high","queue":"low"}`, "queue", "queue", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := badKey([]byte(c.body), typ, &fc)
			switch {
			case c.key == "" && p != nil:
				t.Errorf("refused %+v, want accepted", *p)
			case c.key != "" && (p == nil || p.key != c.key || p.path != c.path || p.want != c.want):
				t.Errorf("got %+v, want key %q at %q (own name %q)", p, c.key, c.path, c.want)
			}
		})
	}
}

// BenchmarkBadKey is BenchmarkDuplicateKey's walk with the case check of a job request.
func BenchmarkBadKey(b *testing.B) {
	body := []byte(`{"input":"file:///srv/in/a.mp4","preset":"abr-720p","output":"file:///srv/out/j2/","queue":"high",` +
		`"priority":10,"labels":{"team":"news","show":"evening"},"callback_url":"https://hooks.example/x",` +
		`"spec":{"input":{"url":"/srv/in/a.mp4"},"outputs":[{"container":"mp4","target":"/srv/out/a.mp4","options":{"movflags":"+faststart"}},` +
		`{"container":"hls","target":"/srv/out/b/","video":{"codec":"libx264","height":720,"bitrate":"3M"}}]}}`)
	var fc fieldCache
	typ := reflect.TypeFor[*api.JobRequest]()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if p := badKey(body, typ, &fc); p != nil {
			b.Fatalf("problem in the benchmark body: %+v", *p)
		}
	}
}
