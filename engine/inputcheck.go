package engine

/*
#cgo pkg-config: libavformat
#include <stdlib.h>
#include <libavformat/avformat.h>

// ffrtmp_probe_format names the demuxer libavformat would pick for the local file url, the
// way avformat_open_input probes it (content and name), without opening that demuxer.
static int ffrtmp_probe_format(const char *url, const char **name) {
	AVIOContext *pb = NULL;
	AVDictionary *opts = NULL;
	av_dict_set(&opts, "protocol_whitelist", "file", 0);
	int ret = avio_open2(&pb, url, AVIO_FLAG_READ, NULL, &opts);
	av_dict_free(&opts);
	if (ret < 0) return ret;
	const AVInputFormat *fmt = NULL;
	ret = av_probe_input_buffer2(pb, &fmt, url, NULL, 0, 0);
	avio_closep(&pb);
	if (ret < 0) return ret;
	*name = fmt ? fmt->name : NULL;
	return 0;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"unsafe"

	"github.com/asticode/go-astiav"
)

// NotRegularFileError is a local input that exists but is not a regular file. libav would
// block in open(2) on a named pipe until a writer comes (deaf to its interrupt callback),
// read a device without end, or fail on a folder with a word that names nothing.
type NotRegularFileError struct {
	Path string
	Type string // "named pipe (FIFO)", "device", "folder", "socket"
}

// Error says what the input is; the *Error around it names the path.
func (e *NotRegularFileError) Error() string {
	return fmt.Sprintf("a %s, not a regular file (local inputs must be regular files)", e.Type)
}

// FormatNotAllowedError is a local input whose format libav recognised but the input's
// format_whitelist (a worker's policy) does not allow.
type FormatNotAllowedError struct {
	Format  string // as libav names it: png_pipe, image2, hls
	Allowed string // the whitelist, comma-separated
}

func (e *FormatNotAllowedError) Error() string {
	return fmt.Sprintf("input format %s is not allowed here (allowed: %s)", e.Format, strings.ReplaceAll(e.Allowed, ",", ", "))
}

// localPath returns the path libav opens for url when it reads it with its file protocol
// (a plain path, file:path), as libav itself decides: "concat:x" is a protocol, "a:b.mp4"
// a file.
func localPath(url string) (string, bool) {
	curl := C.CString(url)
	defer C.free(unsafe.Pointer(curl))
	p := C.avio_find_protocol_name(curl)
	if p == nil || C.GoString(p) != "file" {
		return "", false
	}
	return strings.TrimPrefix(url, "file:"), true
}

// CheckLocalInput returns an *Error of kind KindInput when path exists and is not a regular
// file (symlinks followed). A path that does not exist passes: opening it says so.
func CheckLocalInput(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return nil
	}
	if fi.Mode().IsRegular() {
		return nil
	}
	kind := "special file"
	switch m := fi.Mode(); {
	case m&fs.ModeNamedPipe != 0:
		kind = "named pipe (FIFO)"
	case m&fs.ModeDevice != 0, m&fs.ModeCharDevice != 0:
		kind = "device"
	case m.IsDir():
		kind = "folder"
	case m&fs.ModeSocket != 0:
		kind = "socket"
	}
	return &Error{Kind: KindInput, Op: "open input", Subject: path, Err: &NotRegularFileError{Path: path, Type: kind}}
}

// refusedFormat explains an open that failed with EINVAL under a format_whitelist: libav
// says only "Invalid argument" (and logs "Format not on whitelist"). It names the format
// libav probed when that format is outside the whitelist, and returns nil otherwise.
func refusedFormat(url, whitelist string, openErr error) error {
	var ae astiav.Error
	if whitelist == "" || !errors.As(openErr, &ae) || int(ae) != -int(syscall.EINVAL) {
		return nil
	}
	curl := C.CString(url)
	defer C.free(unsafe.Pointer(curl))
	var name *C.char
	if C.ffrtmp_probe_format(curl, &name) < 0 || name == nil {
		return nil
	}
	probed := C.GoString(name)
	// A demuxer may have several names ("mov,mp4,m4a,3gp,3g2,mj2"); libav allows it when
	// any of them is listed.
	for _, n := range strings.Split(probed, ",") {
		for _, w := range strings.Split(whitelist, ",") {
			if n == strings.TrimSpace(w) {
				return nil
			}
		}
	}
	return &FormatNotAllowedError{Format: probed, Allowed: whitelist}
}
