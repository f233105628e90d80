package httpapi

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// smallObject is how many keys an object may have before duplicate checks switch from a
// linear scan to a map: most request objects have a handful, and the scan allocates nothing,
// but a 1 MiB body of one object with 100k keys must not cost n² comparisons.
const smallObject = 16

// dupFrame is one open object or array of the walk.
type dupFrame struct {
	object bool
	key    []byte // the object's current key (raw, as in the body)
	index  int    // the array's current element
	first  int    // where the object's keys start in the walk's shared key stack
	set    map[string]struct{}
	// typ is the Go struct, map or slice type the object or array decodes into (nil: not
	// known, or a type that reads itself); child is the type of its current value.
	typ, child reflect.Type
}

// keyProblem is a key of a body that encoding/json accepted but reads otherwise than a
// client or proxy may: a key given twice in one object (the last wins), or a struct field
// named in another case than its own (encoding/json matches names in any case, so
// "Priority" sets priority, and {"priority":5,"Priority":-100} is a twin in disguise).
type keyProblem struct {
	key, path string
	want      string // for a case variant: the field's own name
}

// badKey finds the first problem key of data, which must be one valid JSON value that
// encoding/json decoded into a value of type t (nil: no case checks). Keys compare after
// unescaping ("a" and "\u0061" are the same key). Field names come from fc.
func badKey(data []byte, t reflect.Type, fc *fieldCache) *keyProblem {
	var frames [8]dupFrame
	var keyBuf [32][]byte
	stack, keys := frames[:0], keyBuf[:0] // an inner object's keys sit above its parent's
	wantKey := false
	next := t // the type of the value that starts next
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '{':
			f := dupFrame{object: true, first: len(keys)}
			if k := kindOf(next); k == reflect.Struct || k == reflect.Map {
				f.typ = deref(next)
			}
			stack = append(stack, f)
			wantKey = true
		case '[':
			f := dupFrame{}
			if k := kindOf(next); k == reflect.Slice || k == reflect.Array {
				f.typ = deref(next)
				f.child = f.typ.Elem()
			}
			stack = append(stack, f)
			next = f.child
			wantKey = false
		case '}', ']':
			if top := stack[len(stack)-1]; top.object {
				keys = keys[:top.first]
			}
			stack = stack[:len(stack)-1]
		case ',':
			if top := &stack[len(stack)-1]; top.object {
				wantKey = true
			} else {
				top.index++
			}
		case '"':
			end := stringEnd(data, i)
			if wantKey {
				wantKey = false
				top := &stack[len(stack)-1]
				top.key = data[i+1 : end]
				k := unescapedKey(top.key)
				var dup bool
				if dup, keys = top.seen(keys, k); dup {
					return &keyProblem{key: string(k), path: dupPath(stack)}
				}
				top.child = nil
				switch kindOf(top.typ) {
				case reflect.Map:
					top.child = top.typ.Elem()
				case reflect.Struct:
					fs := fc.of(top.typ)
					if ft, ok := fs.exact[string(k)]; ok {
						top.child = ft
					} else if own, ok := fs.folded[strings.ToLower(string(k))]; ok {
						return &keyProblem{key: string(k), path: dupPath(stack), want: own}
					}
				}
				next = top.child
			}
			i = end
		}
		if c := data[i]; c == ',' && len(stack) > 0 && !stack[len(stack)-1].object {
			next = stack[len(stack)-1].child
		}
	}
	return nil
}

// duplicateKey finds the first object key that occurs twice in the same object of data (see
// badKey): it returns the key and the path of the duplicate ("outputs[1].video.height").
func duplicateKey(data []byte) (key, path string, ok bool) {
	if p := badKey(data, nil, nil); p != nil {
		return p.key, p.path, true
	}
	return "", "", false
}

// kindOf is t's kind through pointers, or Invalid for nil and for types that read
// themselves (their JSON is theirs to judge).
func kindOf(t reflect.Type) reflect.Kind {
	t = deref(t)
	if t == nil || reflect.PointerTo(t).Implements(unmarshalerType) || t.Implements(unmarshalerType) {
		return reflect.Invalid
	}
	return t.Kind()
}

func deref(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// fieldCache holds, per struct type, the JSON names of its fields as encoding/json reads
// them (tags, embedded structs promoted), exactly and folded to lower case.
type fieldCache struct{ m sync.Map } // reflect.Type → *fieldSet

type fieldSet struct {
	exact  map[string]reflect.Type
	folded map[string]string // lower case → the field's own name
}

func (fc *fieldCache) of(t reflect.Type) *fieldSet {
	if fc == nil {
		return &fieldSet{}
	}
	if fs, ok := fc.m.Load(t); ok {
		return fs.(*fieldSet)
	}
	fs := &fieldSet{exact: map[string]reflect.Type{}, folded: map[string]string{}}
	addFields(fs, t)
	fc.m.Store(t, fs)
	return fs
}

func addFields(fs *fieldSet, t reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" && deref(f.Type).Kind() == reflect.Struct {
			addFields(fs, deref(f.Type))
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fs.exact[name] = f.Type
		fs.folded[strings.ToLower(name)] = name
	}
}

// seen records k among the object's keys (keys[f.first:], or its map once it has many) and
// reports whether it was there already.
func (f *dupFrame) seen(keys [][]byte, k []byte) (bool, [][]byte) {
	if f.set != nil {
		if _, dup := f.set[string(k)]; dup {
			return true, keys
		}
		f.set[string(k)] = struct{}{}
		return false, keys
	}
	for _, o := range keys[f.first:] {
		if string(o) == string(k) {
			return true, keys
		}
	}
	keys = append(keys, k)
	if len(keys)-f.first > smallObject {
		f.set = make(map[string]struct{}, 2*(len(keys)-f.first))
		for _, o := range keys[f.first:] {
			f.set[string(o)] = struct{}{}
		}
		keys = keys[:f.first]
	}
	return false, keys
}

// stringEnd is the index of the quote that closes the string opening at data[start].
func stringEnd(data []byte, start int) int {
	for i := start + 1; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return len(data) - 1
}

// unescapedKey is a key's text without its JSON escapes.
func unescapedKey(raw []byte) []byte {
	if !strings.ContainsRune(string(raw), '\\') {
		return raw
	}
	var s string
	q := make([]byte, 0, len(raw)+2)
	q = append(append(append(q, '"'), raw...), '"')
	if err := json.Unmarshal(q, &s); err != nil {
		return raw
	}
	return []byte(s)
}

// dupPath is the path of the open frames' current keys and indexes, as the API's errors
// name fields: renditions[1].name.
func dupPath(stack []dupFrame) string {
	var b strings.Builder
	for _, f := range stack {
		if !f.object {
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(f.index))
			b.WriteByte(']')
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.Write(unescapedKey(f.key))
	}
	return b.String()
}
