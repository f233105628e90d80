package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestQualityCommand scores a good and a starved AV1 encode of one source: JSON with PSNR,
// SSIM and VMAF for each (the good one scoring higher), a table naming the model, and clear
// usage and input errors.
func TestQualityCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"transcode", "--synthetic", "320x240@30", "--duration", "1", "-o", "ref.mkv", "--crf", "5", "--preset", "ultrafast", "-q"},
		{"transcode", "-i", "ref.mkv", "-o", "good.mp4", "--vcodec", "libsvtav1", "--preset", "12", "--crf", "20", "-q"},
		{"transcode", "-i", "ref.mkv", "-o", "starved.mp4", "--vcodec", "libsvtav1", "--preset", "12", "--bitrate", "30k", "-q"},
	} {
		if _, stderr, code := ffrtmp(t, dir, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
	}
	stdout, stderr, code := ffrtmp(t, dir, "quality", "--ref", "ref.mkv", "-o", "json", "good.mp4", "starved.mp4")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got []struct {
		Distorted string   `json:"distorted"`
		Frames    int      `json:"frames"`
		PSNR      float64  `json:"psnr"`
		SSIM      float64  `json:"ssim"`
		VMAF      *float64 `json:"vmaf"`
		VMAFP1    *float64 `json:"vmaf_p1"`
		Model     string   `json:"vmaf_model"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil || len(got) != 2 {
		t.Fatalf("quality -o json: %v\n%s", err, stdout)
	}
	for _, q := range got {
		if q.Frames != 30 || q.VMAF == nil || q.VMAFP1 == nil || q.Model != "vmaf_v0.6.1" || q.SSIM <= 0 || q.PSNR <= 0 {
			t.Errorf("%+v: want 30 frames, PSNR, SSIM, VMAF and its 1st percentile by vmaf_v0.6.1", q)
		}
	}
	if got[0].VMAF != nil && got[1].VMAF != nil && *got[0].VMAF <= *got[1].VMAF+10 {
		t.Errorf("good %.2f, starved %.2f: want the good encode well above", *got[0].VMAF, *got[1].VMAF)
	}
	table, _, code := ffrtmp(t, dir, "quality", "--ref", "ref.mkv", "--no-vmaf", "good.mp4")
	if code != 0 || !strings.Contains(table, "good.mp4") || !strings.Contains(table, "SSIM") {
		t.Errorf("table (exit %d):\n%s", code, table)
	}
	for _, tc := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"quality", "good.mp4"}, 2, "--ref"},
		{[]string{"quality", "--ref", "ref.mkv", "--vmaf-model", "v9", "good.mp4"}, 2, "vmaf_4k_v0.6.1"},
		{[]string{"quality", "--ref", "missing.mkv", "good.mp4"}, 1, "missing.mkv"},
		{[]string{"quality", "--ref", "ref.mkv", "nothing.mp4"}, 1, "nothing.mp4"},
	} {
		_, stderr, code := ffrtmp(t, dir, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.says) {
			t.Errorf("%v: exit %d, %q; want exit %d naming %s", tc.args, code, stderr, tc.code, tc.says)
		}
	}
}
