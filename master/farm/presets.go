package farm

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/master/auth"
	"github.com/ffrtmp/ffrtmp/master/catalog"
	"github.com/ffrtmp/ffrtmp/master/fault"
)

var presetNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Presets and tenants: the built-ins and stored presets without a tenant are shared by
// every tenant; a stored preset with a tenant is that tenant's alone (admins see all).
// Only admins store presets, so a tenant's presets are the ones an admin made for it.
// Names stay unique on the master, so a job's preset name means one ladder to everyone.

// preset finds a preset whatever its tenant: stored ones, then the built-ins.
func (s *Service) preset(name string) (api.Preset, bool) {
	s.mu.Lock()
	p, ok := s.presets[name]
	s.mu.Unlock()
	if ok {
		return p, true
	}
	return catalog.BuiltinPreset(name)
}

// PresetsOf finds the presets tenant may use: another tenant's is unknown.
func (s *Service) PresetsOf(tenant string) catalog.PresetSource {
	return func(name string) (api.Preset, bool) {
		p, ok := s.preset(name)
		if !ok || (p.Tenant != "" && p.Tenant != tenant) {
			return api.Preset{}, false
		}
		return p, true
	}
}

// Presets lists the built-in and stored presets c sees, by name.
func (s *Service) Presets(c Caller) []api.Preset {
	out := catalog.BuiltinPresets()
	s.mu.Lock()
	for _, p := range s.presets {
		if p.Tenant == "" || c.Sees(p.Tenant) {
			out = append(out, p)
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Preset returns preset name if c sees it.
func (s *Service) Preset(c Caller, name string) (api.Preset, error) {
	p, ok := s.preset(name)
	if !ok || (p.Tenant != "" && !c.Sees(p.Tenant)) {
		return api.Preset{}, notFound("preset", name)
	}
	return p, nil
}

// PutPreset creates or replaces a stored preset. Built-in names are taken.
func (s *Service) PutPreset(ctx context.Context, name string, p api.Preset) (api.Preset, bool, error) {
	if !presetNameRe.MatchString(name) {
		return api.Preset{}, false, badRequest("name", "preset name %q: want 1..64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit", name)
	}
	if p.Name != "" && p.Name != name {
		return api.Preset{}, false, badRequest("name", "body names %q but the URL names %q", p.Name, name)
	}
	if _, ok := catalog.BuiltinPreset(name); ok {
		return api.Preset{}, false, conflict(api.CodeConflict, "%q is a built-in preset and cannot be changed: store yours under another name", name)
	}
	p.Name, p.BuiltIn = name, false
	if p.Tenant != "" {
		if err := auth.CheckTenant(p.Tenant); err != nil {
			return api.Preset{}, false, badRequest("tenant", "%s", err)
		}
	}
	if p.Container == "" {
		p.Container = "hls"
	}
	if !slices.Contains([]string{"hls", "dash", "cmaf", "mp4", "mkv", "mpegts"}, p.Container) {
		return api.Preset{}, false, badRequest("container", "container %q: want hls, dash, cmaf, mp4, mkv or mpegts", p.Container)
	}
	switch {
	case p.SegmentType != "" && !spec.Segmented(p.Container):
		return api.Preset{}, false, badRequest("segment_type", "segment_type is for hls, dash and cmaf presets, not %s", p.Container)
	case p.SegmentType != "" && p.SegmentType != spec.SegmentTS && p.SegmentType != spec.SegmentFMP4:
		return api.Preset{}, false, badRequest("segment_type", "segment_type %q: want %s or %s", p.SegmentType, spec.SegmentTS, spec.SegmentFMP4)
	case p.SegmentType == spec.SegmentTS && spec.WritesDASH(p.Container):
		return api.Preset{}, false, badRequest("segment_type", "container %s writes CMAF (fmp4) segments only: use hls for MPEG-TS segments", p.Container)
	}
	if len(p.Renditions) == 0 || len(p.Renditions) > 16 {
		return api.Preset{}, false, badRequest("renditions", "want 1..16 renditions, not %d", len(p.Renditions))
	}
	names := map[string]bool{}
	for i, r := range p.Renditions {
		f := fmt.Sprintf("renditions[%d]", i)
		switch {
		case r.Name == "" || strings.ContainsAny(r.Name, `/\`) || r.Name == "." || r.Name == "..":
			return api.Preset{}, false, badRequest(f+".name", "rendition name %q: want a plain name", r.Name)
		case names[r.Name]:
			return api.Preset{}, false, badRequest(f+".name", "duplicate rendition %q", r.Name)
		case r.Height <= 0 || r.Height > 8192 || r.Height%2 != 0:
			return api.Preset{}, false, badRequest(f+".height", "height %d: want an even number up to 8192", r.Height)
		case r.Bitrate <= 0:
			return api.Preset{}, false, badRequest(f+".bitrate", "bitrate must be positive")
		case r.MaxRate < 0 || r.BufSize < 0 || r.Audio < 0:
			return api.Preset{}, false, badRequest(f, "rates must not be negative")
		}
		names[r.Name] = true
	}
	// Resolve a job with it: the engine's own checks catch bad codecs, GOPs and the like.
	_, aerr := catalog.Resolve(api.JobRequest{Input: "/check/in.mp4", Preset: name, Output: "/check/out/"},
		func(string) (api.Preset, bool) { return p, true }, 0)
	if aerr != nil {
		var inv *fault.InvalidError
		if errors.As(aerr, &inv) {
			switch inv.Field {
			case "parameters.encoder":
				inv.Field = "video.codec"
			case "parameters.encoder_preset":
				inv.Field = "video.preset"
			default:
				inv.Field = strings.Replace(inv.Field, "parameters", "video", 1)
			}
		}
		return api.Preset{}, false, aerr
	}
	s.mu.Lock()
	_, existed := s.presets[name]
	s.mu.Unlock()
	if err := s.st.PutPreset(ctx, p); err != nil {
		return api.Preset{}, false, fmt.Errorf("store preset: %w", err)
	}
	s.mu.Lock()
	s.presets[name] = p
	s.mu.Unlock()
	return p, !existed, nil
}

// DeletePreset removes a stored preset. Queued jobs keep the ladder they were resolved with.
func (s *Service) DeletePreset(ctx context.Context, name string) error {
	if _, ok := catalog.BuiltinPreset(name); ok {
		return conflict(api.CodeConflict, "%q is a built-in preset and cannot be deleted", name)
	}
	s.mu.Lock()
	_, ok := s.presets[name]
	s.mu.Unlock()
	if !ok {
		return notFound("preset", name)
	}
	if err := s.st.DeletePreset(ctx, name); err != nil {
		return storeErr(err, "preset", name)
	}
	s.mu.Lock()
	delete(s.presets, name)
	s.mu.Unlock()
	return nil
}

// Scenarios lists the built-in synthetic workloads.
func (s *Service) Scenarios() []api.Scenario { return catalog.Scenarios() }
