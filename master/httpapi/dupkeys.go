package httpapi

import (
	"encoding/json"
	"strconv"
	"strings"
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
}

// duplicateKey finds the first object key that occurs twice in the same object of data,
// which must be valid JSON (encoding/json has accepted it): encoding/json keeps the last of
// them silently, so a proxy or validator that reads the first sees another request than the
// master does. It returns the key and the path of the duplicate ("outputs[1].video.height"),
// or ok false. Keys compare after unescaping ("a" and "\u0061" are the same key).
func duplicateKey(data []byte) (key, path string, ok bool) {
	var frames [8]dupFrame
	var keyBuf [32][]byte
	stack, keys := frames[:0], keyBuf[:0] // an inner object's keys sit above its parent's
	wantKey := false
	for i := 0; i < len(data); i++ {
		switch data[i] {
		case '{':
			stack = append(stack, dupFrame{object: true, first: len(keys)})
			wantKey = true
		case '[':
			stack = append(stack, dupFrame{})
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
					return string(k), dupPath(stack), true
				}
			}
			i = end
		}
	}
	return "", "", false
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
