package engine

// libav has one log callback per process, so this file is the engine's one piece of
// package-level state. go-astiav v0.39's own callback vsprintf()s into a 1 KiB stack buffer,
// which long debug lines overflow; ours formats with vsnprintf (truncating) and hands the
// line to slog.

/*
#cgo pkg-config: libavutil
#include <libavutil/log.h>
#include <stdarg.h>
#include <stdio.h>

extern void ffrtmpGoLog(int level, char *msg);

static void ffrtmpLogCallback(void *avcl, int level, const char *fmt, va_list vl) {
	if (level > av_log_get_level()) return;
	char line[1024];
	int print_prefix = 1;
	av_log_format_line2(avcl, level, fmt, vl, line, sizeof(line), &print_prefix);
	ffrtmpGoLog(level, line);
}

static void ffrtmpInstallLogCallback(int level) {
	av_log_set_level(level);
	av_log_set_callback(ffrtmpLogCallback);
}
*/
import "C"

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/asticode/go-astiav"

	"github.com/ffrtmp/ffrtmp/api/redact"
)

var installLogOnce sync.Once

// installLibavLog registers libavdevice and routes libav's log through slog at warning level and above. Quieter
// than info keeps per-frame chatter out of the hot path.
func installLibavLog() {
	installLogOnce.Do(func() {
		C.ffrtmpInstallLogCallback(C.AV_LOG_WARNING)
		// SVT-AV1 logs to stderr itself: a banner per encoder at its default level, and a
		// warning per thread that real-time priority was refused (see realtime_linux.go).
		// Errors only, unless the operator set SVT_LOG.
		if _, set := os.LookupEnv("SVT_LOG"); !set {
			_ = os.Setenv("SVT_LOG", "1")
		}
		// lavfi (synthetic sources) is an input device: it must be registered.
		astiav.RegisterAllDevices()
	})
}

//export ffrtmpGoLog
func ffrtmpGoLog(level C.int, msg *C.char) {
	line := strings.TrimRight(C.GoString(msg), "\n")
	if line == "" {
		return
	}
	// libav names the URLs it opens ("Failed to open segment 'https://…?token=…'").
	line = redact.Text(line)
	lvl := slog.LevelDebug
	switch {
	case level <= C.AV_LOG_ERROR:
		lvl = slog.LevelError
	case level <= C.AV_LOG_WARNING:
		lvl = slog.LevelWarn
	case level <= C.AV_LOG_INFO:
		lvl = slog.LevelInfo
	}
	if level <= C.AV_LOG_ERROR {
		recent.add(line)
	}
	slog.Default().Log(context.Background(), lvl, line, "source", "libav")
}

// recent keeps libav's last error lines so an error can say what libav said about it
// ("Cannot load libcuda.so.1" explains an EPERM from h264_nvenc).
var recent errorLines

type errorLine struct {
	at     time.Time
	source string // "h264_nvenc", "AVHWDeviceContext"
	msg    string
}

type errorLines struct {
	mu    sync.Mutex
	lines [16]errorLine
	next  int
}

func (e *errorLines) add(line string) {
	var source string
	if rest, ok := strings.CutPrefix(line, "["); ok {
		if head, msg, ok := strings.Cut(rest, "] "); ok {
			source, _, _ = strings.Cut(head, " @ ")
			line = msg
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lines[e.next%len(e.lines)] = errorLine{at: time.Now(), source: source, msg: line}
	e.next++
}

// since returns, oldest first, the messages libav logged at error level from source since t.
func (e *errorLines) since(t time.Time, source string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for i := 0; i < len(e.lines); i++ {
		l := e.lines[(e.next+i)%len(e.lines)]
		if !l.at.Before(t) && l.source == source && l.msg != "" {
			out = append(out, l.msg)
		}
	}
	return out
}

// explain appends what libav logged from source since t to err's message.
func explain(err error, t time.Time, source string) error {
	if lines := recent.since(t, source); len(lines) > 0 {
		return &libavError{err: err, said: strings.Join(lines, "; ")}
	}
	return err
}

// libavError is a libav error code with the log lines that explain it.
type libavError struct {
	err  error
	said string
}

func (e *libavError) Error() string { return e.err.Error() + " (libav: " + e.said + ")" }
func (e *libavError) Unwrap() error { return e.err }
