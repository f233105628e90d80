package engine_test

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
)

// Damaged inputs fail with an input error that names the file, without a panic, a hang or
// an output left behind.
func TestRunBadInput(t *testing.T) {
	t.Parallel()
	srcDir := t.TempDir()
	mp4 := makeSource(t, srcDir, "src.mp4", 320, 240, 2)
	ts := filepath.Join(srcDir, "src.ts")
	run(t, spec.Spec{Input: spec.Input{URL: mp4}, Outputs: []spec.Output{{Target: ts, Video: &spec.Video{Codec: "copy"}}}}, nil)

	tests := []struct {
		name   string
		source string // a valid file to damage; empty: nothing
		damage func(b []byte) []byte
	}{
		{"truncated mp4", mp4, func(b []byte) []byte { return b[:len(b)/2] }},
		{"truncated to its first kilobyte (mpegts)", ts, func(b []byte) []byte { return b[:1024] }},
		{"empty", "", func([]byte) []byte { return nil }},
		{"random bytes", "", func([]byte) []byte { return randomBytes(1, 200_000) }},
		{"garbage in the middle of an mp4", mp4, garbleMiddle},
		{"garbage in the middle of an mpegts", ts, garbleMiddle},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var data []byte
			if tc.source != "" {
				b, err := os.ReadFile(tc.source)
				if err != nil {
					t.Fatal(err)
				}
				data = b
			}
			in := filepath.Join(t.TempDir(), "input.bin")
			if err := os.WriteFile(in, tc.damage(data), 0o644); err != nil {
				t.Fatal(err)
			}
			outDir := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := engine.Run(ctx, spec.Spec{
				Input: spec.Input{URL: in},
				Outputs: []spec.Output{
					{Target: filepath.Join(outDir, "out.mp4"), Video: fast(160, 120)},
					{Container: "hls", Target: filepath.Join(outDir, "hls"), Video: fast(160, 120)},
				},
			}, nil)
			if ctx.Err() != nil {
				t.Fatalf("Run hung on a damaged input: %v", err)
			}
			t.Logf("error: %v", err)
			engineErr(t, err, engine.KindInput)
			if !strings.Contains(err.Error(), in) {
				t.Errorf("error %q does not name the input %s", err, in)
			}
			assertNoOutput(t, outDir)
		})
	}
}

// garbleMiddle overwrites the middle 30 % of b with random bytes.
func garbleMiddle(b []byte) []byte {
	b = append([]byte(nil), b...)
	n := len(b) * 3 / 10
	copy(b[(len(b)-n)/2:], randomBytes(2, n))
	return b
}

// randomBytes returns n bytes from a seeded generator, so a failure reproduces.
func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
