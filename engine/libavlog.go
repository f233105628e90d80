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
	"strings"
	"sync"

	"github.com/asticode/go-astiav"
)

var installLogOnce sync.Once

// installLibavLog registers libavdevice and routes libav's log through slog at warning level and above. Quieter
// than info keeps per-frame chatter out of the hot path.
func installLibavLog() {
	installLogOnce.Do(func() {
		C.ffrtmpInstallLogCallback(C.AV_LOG_WARNING)
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
	lvl := slog.LevelDebug
	switch {
	case level <= C.AV_LOG_ERROR:
		lvl = slog.LevelError
	case level <= C.AV_LOG_WARNING:
		lvl = slog.LevelWarn
	case level <= C.AV_LOG_INFO:
		lvl = slog.LevelInfo
	}
	slog.Default().Log(context.Background(), lvl, line, "source", "libav")
}
