package engine

import (
	"bytes"
	"testing"

	"github.com/asticode/go-astiav"
	"github.com/ffrtmp/ffrtmp/api/spec"
)

func TestFindH264SPS(t *testing.T) {
	sps := []byte{0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9}
	tests := []struct {
		name string
		in   []byte
		want []byte
	}{
		{"avcC extradata", []byte{1, 0x4d, 0x40, 0x1e, 0xff, 0xe1, 0, 6}, []byte{0x4d, 0x40, 0x1e}},
		{"annex B, 4-byte start code", append([]byte{0, 0, 0, 1}, sps...), []byte{0x64, 0x00, 0x1f}},
		{"annex B, 3-byte start code", append([]byte{0, 0, 1}, sps...), []byte{0x64, 0x00, 0x1f}},
		{"SPS after an AUD and SEI", append([]byte{0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x06, 5, 1, 0}, append([]byte{0, 0, 1}, sps...)...), []byte{0x64, 0x00, 0x1f}},
		{"no SPS", []byte{0, 0, 0, 1, 0x65, 0x88, 0x84, 0x00}, nil},
		{"SPS cut short", []byte{0, 0, 1, 0x67, 0x64}, nil},
		{"empty", nil, nil},
	}
	for _, tc := range tests {
		if got := findH264SPS(tc.in); !bytes.Equal(got, tc.want) {
			t.Errorf("%s: findH264SPS = %x, want %x", tc.name, got, tc.want)
		}
	}
}

func TestVideoFilters(t *testing.T) {
	cuda := &hwDevice{kind: "cuda", hwKind: hwKinds["cuda"]}
	vaapi := &hwDevice{kind: "vaapi", hwKind: hwKinds["vaapi"]}
	tests := []struct {
		name    string
		v       spec.Video
		pixfmt  astiav.PixelFormat
		hw      *hwDevice
		want    string
		wantDev *hwDevice
	}{
		{"software, source size and rate", spec.Video{Codec: "libx264"}, astiav.PixelFormatYuv420P, nil,
			"fps=30/1,format=yuv420p", nil},
		{"software scale, new rate", spec.Video{Codec: "libx264", Width: 1280, Height: 720, FPS: spec.Rate{Num: 30000, Den: 1001}}, astiav.PixelFormatYuv420P, nil,
			"fps=30000/1001,scale=1280:720,format=yuv420p", nil},
		{"height only keeps the aspect ratio", spec.Video{Codec: "libx264", Height: 480}, astiav.PixelFormatYuv420P, nil,
			"fps=30/1,scale=-2:480,format=yuv420p", nil},
		{"width only keeps the aspect ratio", spec.Video{Codec: "libx264", Width: 640}, astiav.PixelFormatYuv420P, nil,
			"fps=30/1,scale=640:-2,format=yuv420p", nil},
		{"cuda frames to nvenc stay on the GPU", spec.Video{Codec: "h264_nvenc", Height: 720}, astiav.PixelFormatCuda, cuda,
			"fps=30/1,scale_cuda=w=-2:h=720:format=nv12", nil},
		{"cuda frames to libx264 are downloaded", spec.Video{Codec: "libx264", Width: 1280, Height: 720}, astiav.PixelFormatCuda, cuda,
			"fps=30/1,scale_cuda=w=1280:h=720:format=nv12,hwdownload,format=nv12", nil},
		{"software frames to nvenc", spec.Video{Codec: "h264_nvenc"}, astiav.PixelFormatYuv420P, cuda,
			"fps=30/1,format=nv12", nil},
		{"software frames to vaapi are uploaded", spec.Video{Codec: "h264_vaapi", Width: 640, Height: 360}, astiav.PixelFormatYuv420P, vaapi,
			"fps=30/1,scale=640:360,format=nv12,hwupload", vaapi},
	}
	for _, tc := range tests {
		f := astiav.AllocFrame()
		f.SetPixelFormat(tc.pixfmt)
		got, dev := videoFilters(&tc.v, f, astiav.NewRational(30, 1), tc.hw)
		f.Free()
		if got != tc.want || dev != tc.wantDev {
			t.Errorf("%s: videoFilters = %q (device %v), want %q (device %v)", tc.name, got, dev, tc.want, tc.wantDev)
		}
	}
}
