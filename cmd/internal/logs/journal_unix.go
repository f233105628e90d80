//go:build unix

package logs

import (
	"os"
	"syscall"
)

// sameFile reports whether f is the file of device dev and inode ino.
func sameFile(f *os.File, dev, ino uint64) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && uint64(st.Dev) == dev && uint64(st.Ino) == ino
}
