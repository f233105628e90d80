package store

// QueuedWrites is how many writes wait for the committer (tests line writes up in one batch).
func QueuedWrites(s *Store) int { return len(s.writes) }
