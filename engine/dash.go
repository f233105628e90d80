package engine

import (
	"encoding/xml"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	"github.com/ffrtmp/ffrtmp/api/spec"
)

// The MPD is ISO/IEC 23009-1's, static (VOD), in the ISO base media file format live
// profile: one SegmentTemplate per representation addressing the CMAF segments the HLS
// muxer wrote ($Number$), with a SegmentTimeline of their exact durations in the track's
// timescale.
const (
	mpdNamespace  = "urn:mpeg:dash:schema:mpd:2011"
	mpdProfile    = "urn:mpeg:dash:profile:isoff-live:2011"
	channelScheme = "urn:mpeg:dash:23003:3:audio_channel_configuration:2011"
)

type mpdXML struct {
	XMLName                   xml.Name  `xml:"urn:mpeg:dash:schema:mpd:2011 MPD"`
	Profiles                  string    `xml:"profiles,attr"`
	Type                      string    `xml:"type,attr"`
	MediaPresentationDuration string    `xml:"mediaPresentationDuration,attr"`
	MinBufferTime             string    `xml:"minBufferTime,attr"`
	Period                    periodXML `xml:"Period"`
}

type periodXML struct {
	ID             string             `xml:"id,attr"`
	Start          string             `xml:"start,attr"`
	AdaptationSets []adaptationSetXML `xml:"AdaptationSet"`
}

// adaptationSetXML's children follow the schema's order: ContentComponent, then
// Representation.
type adaptationSetXML struct {
	ID                int                   `xml:"id,attr"`
	ContentType       string                `xml:"contentType,attr,omitempty"`
	MimeType          string                `xml:"mimeType,attr"`
	SegmentAlignment  bool                  `xml:"segmentAlignment,attr"`
	StartWithSAP      int                   `xml:"startWithSAP,attr"`
	MaxWidth          int                   `xml:"maxWidth,attr,omitempty"`
	MaxHeight         int                   `xml:"maxHeight,attr,omitempty"`
	ContentComponents []contentComponentXML `xml:"ContentComponent"`
	Representations   []representationXML   `xml:"Representation"`
}

type contentComponentXML struct {
	ID          int    `xml:"id,attr"`
	ContentType string `xml:"contentType,attr"`
}

// representationXML's children follow the schema's order: AudioChannelConfiguration (from
// RepresentationBaseType), then SegmentTemplate.
type representationXML struct {
	ID                string             `xml:"id,attr"`
	Bandwidth         int64              `xml:"bandwidth,attr"`
	Codecs            string             `xml:"codecs,attr,omitempty"`
	Width             int                `xml:"width,attr,omitempty"`
	Height            int                `xml:"height,attr,omitempty"`
	FrameRate         string             `xml:"frameRate,attr,omitempty"`
	AudioSamplingRate string             `xml:"audioSamplingRate,attr,omitempty"`
	Channels          *descriptorXML     `xml:"AudioChannelConfiguration"`
	SegmentTemplate   segmentTemplateXML `xml:"SegmentTemplate"`
}

type descriptorXML struct {
	SchemeIDURI string `xml:"schemeIdUri,attr"`
	Value       string `xml:"value,attr"`
}

type segmentTemplateXML struct {
	Timescale      int                `xml:"timescale,attr"`
	Initialization string             `xml:"initialization,attr"`
	Media          string             `xml:"media,attr"`
	StartNumber    int                `xml:"startNumber,attr"`
	Timeline       segmentTimelineXML `xml:"SegmentTimeline"`
}

type segmentTimelineXML struct {
	S []sXML `xml:"S"`
}

// sXML is one run of segments: R more after the first, each D long, the first at T.
type sXML struct {
	T *int64 `xml:"t,attr"`
	D int64  `xml:"d,attr"`
	R int    `xml:"r,attr,omitempty"`
}

// writeDASHManifests writes manifest.mpd into every folder that holds dash or cmaf
// renditions, and removes the media playlists of the dash ones (cmaf keeps them for its
// master playlist). It returns the manifests written.
func writeDASHManifests(rs []rendition) ([]string, error) {
	groups := map[string][]rendition{}
	var dirs []string
	for _, r := range rs {
		if !spec.WritesDASH(r.out.Container) {
			continue
		}
		if _, ok := groups[r.dir]; !ok {
			dirs = append(dirs, r.dir)
		}
		groups[r.dir] = append(groups[r.dir], r)
	}
	var written []string
	for _, dir := range dirs {
		path := filepath.Join(dir, "manifest.mpd")
		text, err := mpd(groups[dir])
		if err != nil {
			return nil, &Error{Kind: KindOutput, Op: "write DASH manifest", Subject: path, Err: err}
		}
		if err := writeFileAtomic(path, text); err != nil {
			return nil, &Error{Kind: KindOutput, Op: "write DASH manifest", Subject: path, Err: err}
		}
		written = append(written, path)
	}
	for _, r := range rs {
		if r.out.Container == "dash" {
			if err := os.Remove(r.playlist); err != nil {
				return nil, &Error{Kind: KindOutput, Op: "remove media playlist", Subject: r.out.Name, Err: err}
			}
		}
	}
	return written, nil
}

// mpd is the text of a static MPD listing rs: one adaptation set per kind (video, audio,
// or both muxed) and codec, so that a player switches only between renditions it can
// switch between seamlessly.
func mpd(rs []rendition) ([]byte, error) {
	m := mpdXML{Profiles: mpdProfile, Type: "static", Period: periodXML{ID: "0", Start: "PT0S"}}
	var longest, longestSegment float64
	index := map[string]int{}
	for i, r := range rs {
		rep, seconds, maxSeg, err := representation(i, r)
		if err != nil {
			return nil, fmt.Errorf("rendition %q: %w", r.out.Name, err)
		}
		longest, longestSegment = max(longest, seconds), max(longestSegment, maxSeg)
		kind, mime, family := "video", "video/mp4", r.video
		switch {
		case r.hasVideo && r.hasAudio:
			kind = "muxed"
		case !r.hasVideo:
			kind, mime, family = "audio", "audio/mp4", r.audio
		}
		family, _, _ = strings.Cut(family, ".") // avc1, hvc1, av01, vp09, mp4a, opus
		key := kind + "/" + family
		at, ok := index[key]
		if !ok {
			at = len(m.Period.AdaptationSets)
			index[key] = at
			as := adaptationSetXML{ID: at, MimeType: mime, SegmentAlignment: true, StartWithSAP: 1}
			if kind == "muxed" {
				as.ContentComponents = []contentComponentXML{{ID: 1, ContentType: "video"}, {ID: 2, ContentType: "audio"}}
			} else {
				as.ContentType = kind
			}
			m.Period.AdaptationSets = append(m.Period.AdaptationSets, as)
		}
		as := &m.Period.AdaptationSets[at]
		as.MaxWidth, as.MaxHeight = max(as.MaxWidth, r.width), max(as.MaxHeight, r.height)
		as.Representations = append(as.Representations, rep)
	}
	m.MediaPresentationDuration = xsDuration(longest)
	m.MinBufferTime = xsDuration(math.Max(longestSegment, 1))
	out, err := xml.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(append([]byte(xml.Header), out...), '\n'), nil
}

// representation describes rendition i; it returns also its length and its longest
// segment, in seconds.
func representation(i int, r rendition) (representationXML, float64, float64, error) {
	if len(r.segments) == 0 {
		return representationXML{}, 0, 0, fmt.Errorf("no segments")
	}
	if r.timescale <= 0 {
		return representationXML{}, 0, 0, fmt.Errorf("no timescale")
	}
	first, err := segmentNumber(r.segments[0].uri)
	if err != nil {
		return representationXML{}, 0, 0, err
	}
	var timeline segmentTimelineXML
	var seconds, longest float64
	prev := int64(0)
	for k, sg := range r.segments {
		if n, err := segmentNumber(sg.uri); err != nil || n != first+k {
			return representationXML{}, 0, 0, fmt.Errorf("segment %q out of sequence: want seg_%05d.m4s", sg.uri, first+k)
		}
		seconds += sg.seconds
		longest = max(longest, sg.seconds)
		// Each boundary rounded from the running total: no drift however long the run.
		end := int64(math.Round(seconds * float64(r.timescale)))
		d := end - prev
		prev = end
		if n := len(timeline.S); n > 0 && timeline.S[n-1].D == d {
			timeline.S[n-1].R++
			continue
		}
		s := sXML{D: d}
		if k == 0 {
			t := int64(0)
			s.T = &t
		}
		timeline.S = append(timeline.S, s)
	}
	base := templateURI(r.out.Name)
	rep := representationXML{
		ID:        representationID(i, r.out.Name),
		Bandwidth: max(r.peak, 1),
		Width:     r.width,
		Height:    r.height,
		SegmentTemplate: segmentTemplateXML{Timescale: r.timescale, Initialization: base + "/init.mp4",
			Media: base + "/seg_$Number%05d$.m4s", StartNumber: first, Timeline: timeline},
	}
	var codecs []string
	for _, c := range []string{r.video, r.audio} {
		if c != "" {
			codecs = append(codecs, c)
		}
	}
	rep.Codecs = strings.Join(codecs, ",")
	if r.hasVideo && r.fps > 0 {
		rep.FrameRate = frameRateAttr(r.fps)
	}
	if r.hasAudio {
		if r.sampleRate > 0 {
			rep.AudioSamplingRate = strconv.Itoa(r.sampleRate)
		}
		if r.channels > 0 {
			rep.Channels = &descriptorXML{SchemeIDURI: channelScheme, Value: strconv.Itoa(r.channels)}
		}
	}
	return rep, seconds, longest, nil
}

// segmentNumber is the number in a segment's name, seg_NNNNN.m4s.
func segmentNumber(uri string) (int, error) {
	num, ok := strings.CutPrefix(uri, "seg_")
	if num, ok2 := strings.CutSuffix(num, ".m4s"); ok && ok2 {
		if n, err := strconv.Atoi(num); err == nil && n >= 0 {
			return n, nil
		}
	}
	return 0, fmt.Errorf("segment %q is not named seg_NNNNN.m4s", uri)
}

// templateURI is an output's folder as a URI reference inside a SegmentTemplate, where '$'
// starts an identifier: it is percent-encoded like the other reserved characters.
func templateURI(name string) string {
	return strings.ReplaceAll(uriReference(name), "$", "%24")
}

// representationID is an output's name as a Representation@id, which may hold no white
// space; a name with some gets "rendition-<i>".
func representationID(i int, name string) string {
	if name == "" || strings.IndexFunc(name, unicode.IsSpace) >= 0 {
		return fmt.Sprintf("rendition-%d", i)
	}
	return name
}

// frameRateAttr writes a frame rate as the MPD's FrameRateType: "30", or a fraction for the
// NTSC rates ("30000/1001").
func frameRateAttr(fps float64) string {
	if r := math.Round(fps); math.Abs(fps-r) < 1e-3 {
		return strconv.Itoa(int(r))
	}
	if n := math.Round(fps * 1001); math.Abs(fps*1001-n) < 0.5 {
		return fmt.Sprintf("%d/1001", int(n))
	}
	return fmt.Sprintf("%d/1000", int(math.Round(fps*1000)))
}

// xsDuration writes seconds as an xs:duration to the millisecond ("PT12.345S").
func xsDuration(seconds float64) string {
	return "PT" + strconv.FormatFloat(math.Round(seconds*1000)/1000, 'f', -1, 64) + "S"
}
