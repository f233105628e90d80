package master

import "syscall"

// raiseFileLimit lifts the soft limit on open files to the hard one (each API connection
// costs a descriptor; at 1,024 a few hundred idle clients starve the API) and returns both.
// Go's runtime does the same at start since Go 1.19; doing it here too keeps the master
// right when it runs inside a process that lowered it, and gives the values to log.
func raiseFileLimit() (soft, hard uint64, err error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, 0, err
	}
	if lim.Cur < lim.Max {
		raised := lim
		raised.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
			return lim.Cur, lim.Max, err
		}
		lim = raised
	}
	return lim.Cur, lim.Max, nil
}
