package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// newHCLogger routes raft's hclog lines into slog with their level and fields, under
// source=raft. Raft's debug chatter stays at debug.
func newHCLogger(log *slog.Logger) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       "raft",
		Level:      hclog.Info,
		JSONFormat: true,
		Output:     &hcWriter{log: log.With("source", "raft")},
	})
}

type hcWriter struct{ log *slog.Logger }

func (w *hcWriter) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(bytes.TrimSpace(p), []byte("\n")) {
		var m map[string]any
		if json.Unmarshal(line, &m) != nil {
			w.log.Info(string(line))
			continue
		}
		level := slog.LevelInfo
		switch s, _ := m["@level"].(string); strings.ToLower(s) {
		case "trace", "debug":
			level = slog.LevelDebug
		case "warn":
			level = slog.LevelWarn
		case "error":
			level = slog.LevelError
		}
		msg, _ := m["@message"].(string)
		attrs := make([]any, 0, 2*len(m))
		for k, v := range m {
			if strings.HasPrefix(k, "@") {
				continue
			}
			attrs = append(attrs, k, v)
		}
		w.log.Log(context.Background(), level, msg, attrs...)
	}
	return len(p), nil
}
