// Package testport hands tests loopback TCP ports that are free when asked for, and never
// the same port twice in one test process.
//
// A port taken by listening on :0 and closing is free only until someone binds it: the
// kernel may hand the same number to the next :0 listener at once, so two ports asked for
// one after the other (a master's API and its raft address) could collide. Free remembers
// what it gave.
package testport

import (
	"net"
	"sync"
	"testing"
)

var (
	mu    sync.Mutex
	given = map[int]bool{}
)

// Free returns a loopback TCP port that is free now and that Free has not returned before
// in this process.
func Free(t testing.TB) int {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	for range 1000 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !given[p] {
			given[p] = true
			return p
		}
	}
	t.Fatal("testport: no port that was not given before in 1000 tries")
	return 0
}
