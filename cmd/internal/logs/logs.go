// Package logs builds a daemon's logger from --log-level and --log-format, the same for
// ffrtmp-master, ffrtmp-worker and `ffrtmp ingest`: slog's text (logfmt) or JSON lines on
// stderr. Under journald (systemd's JOURNAL_STREAM names the stream stderr is) the text
// lines leave out their time, which the journal records for every line already.
package logs

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/spf13/pflag"
)

// Flags defines --log-level and --log-format on fs.
func Flags(fs *pflag.FlagSet) {
	fs.String("log-level", "info", "debug, info, warn or error")
	fs.String("log-format", "text", "text or json (text leaves out the time when stderr goes to journald)")
}

// New returns a logger writing to w at level in format ("text" or "json"); an error names
// the flag and what it takes.
func New(level, format string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		if ToJournal(w) {
			opts.ReplaceAttr = dropTime
		}
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// dropTime removes the record's time.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// ToJournal reports whether w is the stream systemd connected to the journal: a file
// whose device and inode are those in JOURNAL_STREAM ("dev:inode"), as sd_journal
// recommends checking, so a child that inherited the variable but writes elsewhere keeps
// its timestamps.
func ToJournal(w io.Writer) bool {
	f, ok := w.(*os.File)
	js := os.Getenv("JOURNAL_STREAM")
	if !ok || js == "" {
		return false
	}
	var dev, ino uint64
	if _, err := fmt.Sscanf(js, "%d:%d", &dev, &ino); err != nil {
		return false
	}
	return sameFile(f, dev, ino)
}
