package engine

/*
#cgo pkg-config: libavutil libavcodec
#include <libavutil/avutil.h>
#include <libavutil/hwcontext.h>
#include <libavcodec/avcodec.h>
*/
import "C"

import (
	"fmt"
	"runtime/debug"

	"github.com/asticode/go-astiav"
	"github.com/ffrtmp/ffrtmp/api/spec"
)

// BuildInfo says which FFmpeg the engine runs on and what that build can do.
type BuildInfo struct {
	FFmpeg     string `json:"ffmpeg"`     // av_version_info(), e.g. "7.1.5"
	Libavcodec string `json:"libavcodec"` // "61.19.101"
	GoAstiav   string `json:"go_astiav"`
	// Devices are the hardware device types compiled in (cuda, vaapi, qsv...): what the build
	// supports, not what this machine has.
	Devices []string `json:"hardware_devices"`
	// Encoders are the video encoders the engine offers that the build contains.
	Encoders []string `json:"encoders"`
}

// Build returns the engine's BuildInfo.
func Build() BuildInfo {
	v := uint(C.avcodec_version())
	bi := BuildInfo{
		FFmpeg:     C.GoString(C.av_version_info()),
		Libavcodec: fmt.Sprintf("%d.%d.%d", v>>16, (v>>8)&0xff, v&0xff),
		GoAstiav:   "unknown",
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == "github.com/asticode/go-astiav" {
				bi.GoAstiav = d.Version
			}
		}
	}
	for t := C.av_hwdevice_iterate_types(C.AV_HWDEVICE_TYPE_NONE); t != C.AV_HWDEVICE_TYPE_NONE; t = C.av_hwdevice_iterate_types(t) {
		bi.Devices = append(bi.Devices, C.GoString(C.av_hwdevice_get_type_name(t)))
	}
	for _, c := range append(spec.VideoCodecs(), "aac", "libopus") {
		if astiav.FindEncoderByName(c) != nil {
			bi.Encoders = append(bi.Encoders, c)
		}
	}
	return bi
}
