package engine_test

import (
	"encoding/xml"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ffrtmp/ffrtmp/api/spec"
)

// mpdDoc is what the tests read of a manifest.mpd.
type mpdDoc struct {
	Type                      string `xml:"type,attr"`
	MediaPresentationDuration string `xml:"mediaPresentationDuration,attr"`
	Period                    struct {
		AdaptationSets []struct {
			ContentType     string `xml:"contentType,attr"`
			MimeType        string `xml:"mimeType,attr"`
			Representations []struct {
				ID                string `xml:"id,attr"`
				Bandwidth         int64  `xml:"bandwidth,attr"`
				Codecs            string `xml:"codecs,attr"`
				Width             int    `xml:"width,attr"`
				Height            int    `xml:"height,attr"`
				FrameRate         string `xml:"frameRate,attr"`
				AudioSamplingRate string `xml:"audioSamplingRate,attr"`
				Channels          struct {
					Value string `xml:"value,attr"`
				} `xml:"AudioChannelConfiguration"`
				Template struct {
					Timescale      int64  `xml:"timescale,attr"`
					Initialization string `xml:"initialization,attr"`
					Media          string `xml:"media,attr"`
					StartNumber    int    `xml:"startNumber,attr"`
					S              []struct {
						T *int64 `xml:"t,attr"`
						D int64  `xml:"d,attr"`
						R int    `xml:"r,attr"`
					} `xml:"SegmentTimeline>S"`
				} `xml:"SegmentTemplate"`
			} `xml:"Representation"`
		} `xml:"AdaptationSet"`
	} `xml:"Period"`
}

func readMPD(t *testing.T, path string) mpdDoc {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d mpdDoc
	if err := xml.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return d
}

// validateMPD checks a manifest against the MPD schema of ISO/IEC 23009-1 with xmllint
// (Debian's libxml2-utils, which the setup installs), offline: the schema's xlink import
// is pointed at the copy in testdata.
func validateMPD(t *testing.T, mpd string) {
	t.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("xmllint is missing: make deps installs libxml2-utils")
		}
		t.Skip("xmllint not installed (make deps installs libxml2-utils)")
	}
	dir := t.TempDir()
	for _, name := range []string{"DASH-MPD.xsd", "xlink.xsd", "xml.xsd"} {
		b, err := os.ReadFile(filepath.Join("testdata", "dash", name))
		if err != nil {
			t.Fatal(err)
		}
		if name == "DASH-MPD.xsd" {
			b = []byte(strings.Replace(string(b), `schemaLocation="http://www.w3.org/XML/2008/06/xlink.xsd"`, `schemaLocation="xlink.xsd"`, 1))
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(xmllint, "--nonet", "--noout", "--schema", filepath.Join(dir, "DASH-MPD.xsd"), mpd).CombinedOutput()
	if err != nil || !strings.Contains(string(out), " validates") {
		t.Fatalf("%s does not validate against the DASH MPD schema: %v\n%s", mpd, err, out)
	}
}

// dashTrack joins a representation's init segment and its segments, as the SegmentTemplate
// addresses them, into one fragmented MP4 that ffprobe reads; it fails when a segment the
// manifest names is missing or the folder holds anything else (but the HLS media playlist,
// with keepPlaylist).
func dashTrack(t *testing.T, dir, init, media string, start, count int, keepPlaylist bool) string {
	t.Helper()
	joined, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(init)))
	if err != nil {
		t.Fatalf("init segment: %v", err)
	}
	named := map[string]bool{filepath.Base(init): true, "index.m3u8": keepPlaylist}
	for n := start; n < start+count; n++ {
		name := strings.Replace(media, "$Number%05d$", fmt.Sprintf("%05d", n), 1)
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			t.Fatalf("segment %d the manifest names: %v", n, err)
		}
		named[filepath.Base(name)] = true
		joined = append(joined, b...)
	}
	folder := filepath.Dir(filepath.Join(dir, filepath.FromSlash(init)))
	for _, e := range dirEntries(t, folder) {
		if !named[e] {
			t.Errorf("%s: %s is not in the manifest", folder, e)
		}
	}
	path := filepath.Join(t.TempDir(), "track.mp4")
	if err := os.WriteFile(path, joined, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestDASHAndCMAFLadders runs ladders into dash (a DASH manifest) and cmaf (both manifests
// over the same segments), for H.264 and AV1: the manifest validates against the MPD
// schema; the video renditions form one adaptation set and the audio, split out CMAF's way,
// another; every segment the SegmentTemplate and its timeline address exists and nothing
// else is there; each representation's CODECS is its init segment's, its timeline sums to
// the run's length, and its track plays through ffprobe with every frame and keyframes on
// the same timestamps in every rung. cmaf's master playlist passes the RFC 8216 checks with
// the audio as an EXT-X-MEDIA group; dash leaves no HLS playlist behind.
func TestDASHAndCMAFLadders(t *testing.T) {
	t.Parallel()
	const seconds = 3
	for _, container := range []string{"dash", "cmaf"} {
		for _, e := range []struct{ encoder, preset string }{{"libx264", "ultrafast"}, {"libsvtav1", "12"}} {
			t.Run(container+"/"+e.encoder, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				outs, err := spec.LadderOutputs("360p,240p", spec.Output{Container: container, Target: dir,
					Video: &spec.Video{Codec: e.encoder, Preset: e.preset, GOP: 1}})
				if err != nil {
					t.Fatal(err)
				}
				res := run(t, spec.Spec{Input: synthetic(640, 360, seconds), Outputs: outs}, nil)
				manifest := filepath.Join(dir, "manifest.mpd")
				if !slices.Equal(res.DASHManifests, []string{manifest}) {
					t.Errorf("result's DASH manifests %v, want [%s]", res.DASHManifests, manifest)
				}
				validateMPD(t, manifest)
				d := readMPD(t, manifest)
				var dur float64
				if _, err := fmt.Sscanf(d.MediaPresentationDuration, "PT%gS", &dur); err != nil || d.Type != "static" || math.Abs(dur-seconds) > 0.05 {
					t.Errorf("MPD type %q duration %q, want static, %d s", d.Type, d.MediaPresentationDuration, seconds)
				}
				if len(d.Period.AdaptationSets) != 2 {
					t.Fatalf("%d adaptation sets, want video and audio", len(d.Period.AdaptationSets))
				}
				video := map[string]string{}
				for _, as := range d.Period.AdaptationSets {
					want := map[string]int{"video": 2, "audio": 1}[as.ContentType]
					if len(as.Representations) != want || as.MimeType != as.ContentType+"/mp4" {
						t.Errorf("adaptation set %s (%s): %d representations, want %d", as.ContentType, as.MimeType, len(as.Representations), want)
					}
					for _, r := range as.Representations {
						tl := r.Template
						var ticks int64
						count := 0
						for i, s := range tl.S {
							if i == 0 && (s.T == nil || *s.T != 0) {
								t.Errorf("%s: timeline does not start at t=0", r.ID)
							}
							ticks += s.D * int64(s.R+1)
							count += s.R + 1
						}
						if got := float64(ticks) / float64(tl.Timescale); math.Abs(got-seconds) > 0.05 {
							t.Errorf("%s: timeline %d ticks at %d/s = %.3f s, want %d s", r.ID, ticks, tl.Timescale, got, seconds)
						}
						if r.Bandwidth <= 0 {
							t.Errorf("%s: bandwidth %d", r.ID, r.Bandwidth)
						}
						track := dashTrack(t, dir, tl.Initialization, tl.Media, tl.StartNumber, count, container == "cmaf")
						init, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(tl.Initialization)))
						if err != nil {
							t.Fatal(err)
						}
						p := ffprobe(t, track)
						switch as.ContentType {
						case "video":
							if want := codecFromInit(t, init); r.Codecs != want {
								t.Errorf("%s: codecs %q, the init segment's box says %q", r.ID, r.Codecs, want)
							}
							if r.FrameRate != "30" || r.Height != map[string]int{"360p": 360, "240p": 240}[r.ID] {
								t.Errorf("%s: %dx%d at %s fps", r.ID, r.Width, r.Height, r.FrameRate)
							}
							if p.stream("audio") != nil || p.stream("video").frames(t) != seconds*30 {
								t.Errorf("%s: want a video track alone, every frame: %+v", r.ID, p)
							}
							video[r.ID] = track
						case "audio":
							if r.ID != "audio" || r.Codecs != "mp4a.40.2" || r.AudioSamplingRate != "48000" || r.Channels.Value != "2" {
								t.Errorf("audio representation %+v", r)
							}
							if p.stream("video") != nil || p.stream("audio") == nil {
								t.Errorf("audio: want an audio track alone: %+v", p)
							}
						}
					}
				}
				assertAlignedKeyframes(t, buildProbe(t).keyframesOf(t, video), seconds)
				master := filepath.Join(dir, "master.m3u8")
				if container == "cmaf" {
					if !slices.Equal(res.MasterPlaylists, []string{master}) {
						t.Errorf("result's master playlists %v, want [%s]", res.MasterPlaylists, master)
					}
					checkRFC8216(t, master)
					text, _ := os.ReadFile(master)
					if !strings.Contains(string(text), `#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="audio",DEFAULT=YES,AUTOSELECT=YES,URI="audio/index.m3u8"`) ||
						strings.Count(string(text), `AUDIO="audio"`) != 2 || strings.Count(string(text), ",mp4a.40.2\"") != 2 {
						t.Errorf("master playlist without the audio group on both video variants:\n%s", text)
					}
					return
				}
				for _, e := range dirEntries(t, dir) {
					if strings.HasSuffix(e, ".m3u8") {
						t.Errorf("dash output left HLS playlist %s", e)
					}
				}
			})
		}
	}
}
