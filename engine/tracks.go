package engine

import (
	"fmt"
	"log/slog"
	"slices"

	"github.com/asticode/go-astiav"

	"github.com/ffrtmp/ffrtmp/api/spec"
)

// maxWarnings bounds a run's warnings: a badly damaged input must not flood the job's events.
const maxWarnings = 20

// warn records a warning for the Result and tells a WarningObserver, once per message. It is
// called from any of the run's goroutines.
func (r *runner) warn(msg string) {
	r.wmu.Lock()
	if len(r.warnings) >= maxWarnings || slices.Contains(r.warnings, msg) {
		r.wmu.Unlock()
		return
	}
	r.warnings = append(r.warnings, msg)
	r.wmu.Unlock()
	slog.Warn("input damaged", "warning", msg)
	if wo, ok := r.obs.(WarningObserver); ok {
		wo.OnWarning(msg)
	}
}

// dropUndeclared drops the tracks the input declares but that libav could not make usable
// while probing (no best stream of that media type: unknown codec, parameters it could not
// find in damaged data). Without this, outputs silently lost their audio.
func (r *runner) dropUndeclared() error {
	for _, media := range []astiav.MediaType{astiav.MediaTypeVideo, astiav.MediaTypeAudio} {
		chosen := r.in.video
		if media == astiav.MediaTypeAudio {
			chosen = r.in.audio
		}
		if chosen != nil {
			continue
		}
		for _, st := range r.in.fc.Streams() {
			cp := st.CodecParameters()
			if cp.MediaType() != media || st.DispositionFlags().Has(astiav.DispositionFlagAttachedPic) {
				continue
			}
			why := "its codec parameters could not be found (damaged header or data)"
			switch {
			case cp.CodecID() == astiav.CodecIDNone:
				why = "unknown codec (damaged header)"
			case astiav.FindDecoder(cp.CodecID()) == nil:
				why = fmt.Sprintf("this build has no decoder for %s", cp.CodecID().Name())
			}
			if err := r.drop(media.String(), st, fmt.Errorf("%s", why)); err != nil {
				return err
			}
			break
		}
	}
	return nil
}

// drop leaves out an input track that cannot be read: the outputs that would carry it go
// without it, with a warning and an entry in Result.DroppedTracks, unless one of them marks
// it required (then the run fails, naming the input and the stream).
func (r *runner) drop(media string, st *astiav.Stream, why error) error {
	wanted := false
	for i, o := range r.spec.Outputs {
		codec, required := o.Video.Codec, o.Video.Required
		if media == "audio" {
			codec, required = o.Audio.Codec, o.Audio.Required
		}
		if codec == "none" {
			continue
		}
		wanted = true
		if required {
			return &Error{Kind: KindInput, Op: "open input", Subject: r.inputName(),
				Err: fmt.Errorf("%s cannot be read (%w), and outputs[%d].%s.required asks for it", streamName(st), why, i, media)}
		}
	}
	if !wanted {
		return nil
	}
	t := spec.DroppedTrack{Stream: st.Index(), Media: media, Reason: why.Error()}
	if c := st.CodecParameters().CodecID(); c != astiav.CodecIDNone {
		t.Codec = c.Name()
	}
	r.wmu.Lock()
	r.dropped = append(r.dropped, t)
	r.wmu.Unlock()
	r.warn(fmt.Sprintf("input %s %s cannot be read (%s): the outputs go without %s", r.inputName(), streamName(st), why, media))
	return nil
}
