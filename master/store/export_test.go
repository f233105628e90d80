package store

// QueuedWrites is how many writes wait for the committer (tests line writes up in one batch).
func QueuedWrites(s *Store) int { return len(s.writes) }

// SetMaxRevokedSessions lowers the bound on remembered logouts for a test.
func SetMaxRevokedSessions(n int) (restore func()) {
	old := maxRevoked
	maxRevoked = n
	return func() { maxRevoked = old }
}
