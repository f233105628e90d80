package roundtrip

import (
	"testing"
	"time"
)

type wire struct {
	Labels map[string]string `json:"labels,omitempty"`
	Tags   []string          `json:"tags,omitempty"`
	At     time.Time         `json:"at"`
	N      *int              `json:"n,omitempty"`
	hidden int
}

func TestEqual(t *testing.T) {
	one, two := 1, 2
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	cases := []struct {
		name string
		a, b wire
		want bool
	}{
		{"nil and empty map", wire{Labels: map[string]string{}}, wire{}, true},
		{"nil and empty slice", wire{Tags: []string{}}, wire{}, true},
		{"same instant, other zone", wire{At: at}, wire{At: at.In(time.FixedZone("x", 3600))}, true},
		{"other instant", wire{At: at}, wire{At: at.Add(time.Nanosecond)}, false},
		{"map values differ", wire{Labels: map[string]string{"a": "1"}}, wire{Labels: map[string]string{"a": "2"}}, false},
		{"map keys differ", wire{Labels: map[string]string{"a": ""}}, wire{Labels: map[string]string{"b": ""}}, false},
		{"pointers to equal values", wire{N: &one}, wire{N: new(int(1))}, true},
		{"pointers to other values", wire{N: &one}, wire{N: &two}, false},
		{"nil pointer", wire{N: &one}, wire{}, false},
		{"unexported field", wire{hidden: 1}, wire{}, false},
	}
	for _, c := range cases {
		if got := Equal(c.a, c.b); got != c.want {
			t.Errorf("%s: Equal = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestCheck(t *testing.T) {
	if err := Check(wire{Labels: map[string]string{}, At: time.Now()}); err != nil {
		t.Errorf("a value that survives JSON: %v", err)
	}
	// The unexported field is not encoded, so it is lost on the way: Check must say so.
	if err := Check(wire{hidden: 3}); err == nil {
		t.Error("a value that loses a field in JSON passed the check")
	}
}
