package syncbuf

import (
	"strings"
	"sync"
	"testing"
)

func TestConcurrentWritesAllArrive(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				b.Write([]byte("x"))
				_ = b.String()
			}
		})
	}
	wg.Wait()
	if got := len(b.String()); got != 800 {
		t.Fatalf("%d bytes, want 800", got)
	}
}

func TestMaxKeepsTheTail(t *testing.T) {
	b := Buffer{Max: 10}
	for _, s := range []string{"0123456789", "abc", "defgh"} {
		b.Write([]byte(s))
	}
	if got := b.String(); got != "89abcdefgh" || !b.Contains("defgh") || b.Contains("0") {
		t.Fatalf("kept %q, want the last 10 bytes", got)
	}
	b.Write([]byte(strings.Repeat("z", 25)))
	if got := b.String(); len(got) != 25 {
		t.Fatalf("a write larger than Max: kept %d bytes, want the write whole", len(got))
	}
}
