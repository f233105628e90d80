package store

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/ffrtmp/ffrtmp/api"
)

// MaxTextLen bounds Filter.Text, in bytes.
const MaxTextLen = 256

// textMatcher keeps the jobs whose searchable fields (searchFields) contain a text, ignoring
// case, as the API shows them: a secret the API redacts (a URL's password, a stream key) is
// not searched, so a search cannot be used to guess one.
type textMatcher struct {
	needle string // lower case
	// raw, when the needle is written as itself in JSON, are the pieces of it between '='
	// (a label's key=value is two JSON strings): a job whose JSON lacks one, in any case,
	// is skipped without decoding, which is most jobs of a search.
	raw []foldPattern
}

func newTextMatcher(text string) *textMatcher {
	m := &textMatcher{needle: strings.ToLower(text)}
	if plainInJSON(m.needle) {
		for _, p := range strings.Split(m.needle, "=") {
			if p != "" {
				m.raw = append(m.raw, newFoldPattern(p))
			}
		}
	}
	return m
}

// plainInJSON reports whether s is written as itself inside a JSON string by encoding/json:
// printable ASCII other than the quote, the backslash and the HTML characters it escapes.
func plainInJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= utf8.RuneSelf || strings.IndexByte(`"\<>&`, c) >= 0 {
			return false
		}
	}
	return true
}

// match reports whether the job stored as the API JSON js holds the text.
func (m *textMatcher) match(js []byte) bool {
	for _, p := range m.raw {
		if !p.in(js) {
			return false
		}
	}
	var j api.Job
	if err := json.Unmarshal(js, &j); err != nil {
		return false
	}
	for _, f := range searchFields(j.Redact()) {
		if strings.Contains(strings.ToLower(f), m.needle) {
			return true
		}
	}
	return false
}

// searchFields are the parts of a job a text search (Filter.Text) looks in: its ID, input and
// outputs (as paths or URLs, from the request or the spec), preset, scenario, node, error
// code and message, and labels as key=value.
func searchFields(j api.Job) []string {
	f := []string{j.ID, j.Input, j.Output, j.Spec.Input.URL, j.Preset, j.Scenario, j.Node}
	for _, o := range j.Spec.Outputs {
		f = append(f, o.Target)
	}
	if j.Error != nil {
		f = append(f, j.Error.Code, j.Error.Message)
	}
	for k, v := range j.Labels {
		f = append(f, k+"="+v)
	}
	return f
}

// foldPattern finds a lower-case ASCII string in text of any case. It looks for an anchor,
// the pattern's byte that is rarest in jobs' JSON (in both cases for a letter: one or two
// bytes.IndexByte, which is vectorised), and compares the text around each one found.
type foldPattern struct {
	p      []byte
	at     int  // the anchor's index in p
	lo, up byte // the anchor, in lower and upper case (equal for no letter)
}

// jsonByteRank lists bytes from the most to the least frequent in stored jobs' JSON (letters
// in both cases together; measured on the list benchmark's jobs, with '/' put where paths
// would). A byte not listed is rarer than all of them.
const jsonByteRank = `"0:2et,1sa5drop6in8c43-u_hm{}7l9./fbzgxyvw[]qjk `

func newFoldPattern(lower string) foldPattern {
	f := foldPattern{p: []byte(lower)}
	best := -1
	for i, c := range f.p {
		r := strings.IndexByte(jsonByteRank, c)
		if r < 0 {
			r = len(jsonByteRank)
		}
		if r > best {
			f.at, best = i, r
		}
	}
	f.lo, f.up = f.p[f.at], f.p[f.at]
	if 'a' <= f.lo && f.lo <= 'z' {
		f.up = f.lo - 'a' + 'A'
	}
	return f
}

// in reports whether s holds the pattern, ignoring ASCII case (bytes.EqualFold also folds
// other letters: a rare false yes, which the decoded fields then settle).
func (f foldPattern) in(s []byte) bool {
	for off := 0; ; {
		rest := s[off:]
		i := bytes.IndexByte(rest, f.lo)
		if f.up != f.lo {
			end := len(rest)
			if i >= 0 {
				end = i
			}
			if j := bytes.IndexByte(rest[:end], f.up); j >= 0 {
				i = j
			}
		}
		if i < 0 {
			return false
		}
		start := off + i - f.at
		if start >= 0 && start+len(f.p) <= len(s) && bytes.EqualFold(s[start:start+len(f.p)], f.p) {
			return true
		}
		off += i + 1
	}
}

// idSuccessor returns the key right after id16 k (its last byte plus one, carried).
func idSuccessor(k []byte) []byte {
	n := bytes.Clone(k)
	for i := len(n) - 1; i >= 0; i-- {
		n[i]++
		if n[i] != 0 {
			return n
		}
	}
	return nil // k was all 0xff: nothing comes after
}
