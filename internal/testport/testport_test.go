package testport_test

import (
	"net"
	"strconv"
	"testing"

	"github.com/ffrtmp/ffrtmp/internal/testport"
)

// Ports are free to bind, and never repeat.
func TestFreeNeverRepeats(t *testing.T) {
	seen := map[int]bool{}
	for range 200 {
		p := testport.Free(t)
		if seen[p] {
			t.Fatalf("port %d given twice", p)
		}
		seen[p] = true
	}
	p := testport.Free(t)
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		t.Fatalf("port %d is not free: %v", p, err)
	}
	l.Close()
}
