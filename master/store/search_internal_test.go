package store

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// foldPattern finds what lower-casing the text and bytes.Contains would, on random text over
// a small alphabet (so that near misses and overlapping anchors are common).
func TestFoldPatternMatchesLowerContains(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	const alphabet = "aAbB_-.=0"
	str := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return b
	}
	for range 20000 {
		s := str(rng.IntN(40))
		p := bytes.ToLower(str(1 + rng.IntN(5)))
		want := bytes.Contains(bytes.ToLower(s), p)
		if got := newFoldPattern(string(p)).in(s); got != want {
			t.Fatalf("%q in %q: %v, want %v", p, s, got, want)
		}
	}
}
