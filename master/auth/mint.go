package auth

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/ffrtmp/ffrtmp/api/redact"
)

// Prefixes of the secrets the farm mints, so a secret pasted into a log, an issue or a
// config file is recognisable (and redactable) at a glance.
const (
	KeyPrefix        = redact.APIKeyPrefix     // API keys (ffrtmp master gen-key, ffrtmp run's admin key)
	NodeSecretPrefix = redact.NodeSecretPrefix // node secrets, issued to a worker at registration
)

// Mint returns a new secret: prefix and 32 random bytes in hex. Every secret the farm hands
// out (API keys, node secrets) is made here.
func Mint(prefix string) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("mint a secret: %w", err)
	}
	return prefix + hex.EncodeToString(raw), nil
}
