// Package enginetest makes media for tests: small clean sources transcoded by the engine
// itself, and a corpus of damaged copies of them (bit flips, truncations, shuffled chunks,
// bad headers, huge atom and sample-table sizes), the same for the same seed, so that a
// failure reproduces and no test needs a shell step or a file in the repository.
package enginetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/engine"
)

// File is one damaged input of the corpus.
type File struct {
	Name   string // e.g. "flv-shuffled": the source's container and the damage
	Path   string
	Damage string // what was done to the source, for messages
}

// Sources writes 2-second 160x120 H.264 + AAC sources into dir, one per container (mp4,
// mkv, flv, ts), in one engine run, and returns their paths by extension.
func Sources(t testing.TB, dir string) map[string]string {
	t.Helper()
	exts := []string{"mp4", "mkv", "flv", "ts"}
	paths := map[string]string{}
	var outs []spec.Output
	for _, ext := range exts {
		p := filepath.Join(dir, "src."+ext)
		paths[ext] = p
		outs = append(outs, spec.Output{Name: ext, Target: p,
			Video: &spec.Video{Preset: "ultrafast", GOP: 0.5}, Audio: &spec.Audio{Bitrate: 64_000}})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := engine.Run(ctx, spec.Spec{
		Input:   spec.Input{Synthetic: &spec.Synthetic{Width: 160, Height: 120, FPS: spec.Rate{Num: 25, Den: 1}, Duration: 2}},
		Outputs: outs,
	}, nil)
	if err != nil {
		t.Fatalf("make corpus sources: %v", err)
	}
	return paths
}

// Corpus writes the damaged files into dir (about 25 files of 20 to 70 KB) and returns them.
// The same seed gives the same bytes.
func Corpus(t testing.TB, dir string, seed uint64) []File {
	t.Helper()
	src := Sources(t, t.TempDir())
	var files []File
	add := func(ext, damage, what string, b []byte) {
		name := ext + "-" + damage
		p := filepath.Join(dir, name+"."+ext)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, File{Name: name, Path: p, Damage: what})
	}
	for i, ext := range []string{"mp4", "mkv", "flv", "ts"} {
		b, err := os.ReadFile(src[ext])
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		add(ext, "bitflip-1", "one bit flipped in the second half", FlipBits(b, r, 1, 0.5))
		add(ext, "bitflips-8", "eight bits flipped after the first tenth", FlipBits(b, r, 8, 0.1))
		add(ext, "truncated-60", "cut at 60 %", b[:len(b)*6/10])
		add(ext, "truncated-header", "cut to its first 300 bytes", b[:min(len(b), 300)])
		add(ext, "shuffled", "4 KiB chunks of the middle shuffled", Shuffle(b, r, 4096))
		add(ext, "bad-header", "its first 64 bytes random", Overwrite(b, r, 0, 64))
	}
	mp4, err := os.ReadFile(src["mp4"])
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := SetBoxField(mp4, "stts", 12, 0x7fffffff); ok {
		add("mp4", "huge-stts", "stts entry count 2^31-1", b)
	}
	if b, ok := SetBoxField(mp4, "moov", 0, 0xfffffff0); ok {
		add("mp4", "huge-moov", "moov size 4 GiB", b)
	}
	if b, ok := UnknownAudio(mp4); ok {
		add("mp4", "unknown-audio-codec", "the audio sample entry and its esds object type unknown", b)
	}
	return files
}

// UnknownAudio makes an mp4's AAC track one of an unknown codec: libav tells the codec by
// the sample entry's fourcc (mp4a) and by the esds object type (0x40 for AAC, followed by
// the audio stream type 0x15); both are changed.
func UnknownAudio(mp4 []byte) ([]byte, bool) {
	b, ok := Rename(mp4, "mp4a", "zzzz")
	if !ok {
		return nil, false
	}
	i := bytes.Index(b, []byte("esds"))
	if i < 0 {
		return nil, false
	}
	j := bytes.Index(b[i:], []byte{0x40, 0x15})
	if j < 0 {
		return nil, false
	}
	b[i+j] = 0xee
	return b, true
}

// FlipBits flips n bits at random offsets past the first fraction from of b.
func FlipBits(b []byte, r *rand.Rand, n int, from float64) []byte {
	b = bytes.Clone(b)
	lo := int(float64(len(b)) * from)
	for range n {
		i := lo + r.IntN(len(b)-lo)
		b[i] ^= 1 << r.IntN(8)
	}
	return b
}

// Shuffle shuffles b's chunks of size n, but for the first and last three.
func Shuffle(b []byte, r *rand.Rand, n int) []byte {
	var chunks [][]byte
	for i := 0; i < len(b); i += n {
		chunks = append(chunks, b[i:min(i+n, len(b))])
	}
	if len(chunks) > 8 {
		mid := chunks[3 : len(chunks)-3]
		r.Shuffle(len(mid), func(i, j int) { mid[i], mid[j] = mid[j], mid[i] })
	}
	return bytes.Join(chunks, nil)
}

// Overwrite replaces n bytes of b at off with random ones.
func Overwrite(b []byte, r *rand.Rand, off, n int) []byte {
	b = bytes.Clone(b)
	for i := off; i < min(off+n, len(b)); i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

// SetBoxField writes v as a big-endian uint32 at offset off of the first ISO BMFF box of
// type typ (offset 0 is the box size; 12 the entry count of a full box like stts).
func SetBoxField(b []byte, typ string, off int, v uint32) ([]byte, bool) {
	i := bytes.Index(b, []byte(typ))
	if i < 4 || i-4+off+4 > len(b) {
		return nil, false
	}
	b = bytes.Clone(b)
	binary.BigEndian.PutUint32(b[i-4+off:], v)
	return b, true
}

// Rename replaces the first occurrence of from by to (same length).
func Rename(b []byte, from, to string) ([]byte, bool) {
	if len(from) != len(to) {
		panic(fmt.Sprintf("Rename %q to %q: lengths differ", from, to))
	}
	i := bytes.Index(b, []byte(from))
	if i < 0 {
		return nil, false
	}
	b = bytes.Clone(b)
	copy(b[i:], to)
	return b, true
}
