//go:build !linux

package master

import "errors"

// raiseFileLimit is linux-only; elsewhere Go's runtime raises the limit as far as it can.
func raiseFileLimit() (soft, hard uint64, err error) {
	return 0, 0, errors.New("not supported on this system")
}
