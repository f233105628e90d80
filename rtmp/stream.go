package rtmp

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gortmplib"
)

// stream is one published stream: its tracks, the cached current GOP and its players. The
// publisher's goroutine feeds it; each player's goroutine drains its own queue.
type stream struct {
	id     string
	remote string
	m      *metrics

	queueLen     int // each player's queue, in units
	gopMaxUnits  int
	gopMaxBytes  int // < 0: no GOP cache
	started      time.Time
	tracks       []*gortmplib.Track // set once before the stream goes live, then read-only
	hasVideo     bool
	mainTrack    int         // the index of the first video track, when hasVideo
	live         atomic.Bool // a publisher is connected and relaying
	describeOnce StreamInfo  // the current publisher's tracks; read under mu once live

	// Guarded by the Server's mu: the stream's publisher left and its players are held for
	// the grace (held), until a publisher of the same stream claims it (claimed) or holdGen's
	// timer ends it.
	held      bool
	claimed   bool
	holdGen   uint64
	holdTimer *time.Timer

	mu       sync.Mutex
	players  map[*player]struct{}
	gop      []*unit // units since the last keyframe, while gopOK
	gopBytes int
	gopOK    bool
	ended    bool
	stats    StreamStats
	fps      float64 // measured
	win      window

	// Continuity across publishers. A publisher who comes back relays from its first
	// keyframe (rebase), its timestamps shifted to follow the last relayed one by a frame.
	rebase    bool
	continued bool // a publisher came back: units that would go back in time are dropped
	shift     time.Duration
	last      []time.Duration // last relayed (shifted) timestamp by track index
	relayed   []bool          // whether last holds one
	lastTS    time.Duration   // the latest relayed timestamp of any track
	frameDur  time.Duration   // the main (or first) track's last frame duration
	bytesBase int64           // bytes of the publishers before the current one
}

// defaultFrameDur spaces a continued stream from the last one when no frame duration was
// measured.
const defaultFrameDur = 40 * time.Millisecond

// window measures the input rate over about a second.
type window struct {
	start  time.Time
	bytes  int64
	frames int64
}

// player is one player's side of a stream.
type player struct {
	q       chan *unit
	started bool        // guarded by stream.mu: it has had the unit it can start on
	gone    atomic.Bool // evicted as too slow: stop writing at once
	kick    func()      // cuts the player's connection
}

func newStream(id, remote string, m *metrics, queueLen, gopMaxBytes int) *stream {
	return &stream{
		id: id, remote: remote, m: m, queueLen: queueLen,
		gopMaxUnits: queueLen / 2, gopMaxBytes: gopMaxBytes,
		players: map[*player]struct{}{},
	}
}

// setTracks records the publisher's tracks before the stream goes live.
func (s *stream) setTracks(tracks []*gortmplib.Track) {
	s.tracks = tracks
	for i, t := range tracks {
		if t.Codec.IsVideo() && !s.hasVideo {
			s.hasVideo, s.mainTrack = true, i
		}
	}
	s.describeOnce = describeTracks(tracks)
	s.describeOnce.Remote = s.remote
	now := time.Now()
	s.mu.Lock()
	s.last, s.relayed = make([]time.Duration, len(tracks)), make([]bool, len(tracks))
	s.started = now
	s.stats.Started = now
	s.win.start = now
	s.mu.Unlock()
}

// resume starts a new publisher's session on a held stream whose tracks it matches
// (compatibleTracks): its units are relayed from its first keyframe, after the last
// publisher's. It returns the new publisher's StreamInfo.
func (s *stream) resume(tracks []*gortmplib.Track, remote string) StreamInfo {
	info := describeTracks(tracks)
	info.Remote = remote
	s.mu.Lock()
	defer s.mu.Unlock()
	s.describeOnce = info
	s.rebase, s.continued = true, true
	clear(s.gop)
	s.gop, s.gopBytes, s.gopOK = nil, 0, false
	s.bytesBase = s.stats.Bytes
	s.win = window{start: time.Now(), bytes: s.stats.Bytes, frames: s.stats.VideoFrames}
	return info
}

// pause reports the stats of a stream whose publisher left while its players are held:
// BitrateBPS is the mean so far.
func (s *stream) pause() StreamStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Ended = time.Now()
	if d := st.Ended.Sub(st.Started).Seconds(); d > 0 && !st.Started.IsZero() {
		st.BitrateBPS = float64(st.Bytes) * 8 / d
	}
	return st
}

// startsPlayback reports whether a player that has not started yet may start on u: at a
// keyframe of the main video track, or anywhere in a stream without video.
func (s *stream) startsPlayback(u *unit) bool { return !s.hasVideo || (u.main && u.key) }

// publish hands u to every player and the GOP cache. It never blocks: a player whose queue
// is full is evicted, and returned so the caller cuts its connection outside the lock.
func (s *stream) publish(u *unit) (evicted []*player) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || !s.place(u) {
		return nil
	}
	switch {
	case u.config:
	case u.main:
		s.stats.VideoFrames++
	case !u.video:
		s.stats.AudioFrames++
	}
	s.cache(u)
	for p := range s.players {
		if !p.started {
			if !s.startsPlayback(u) {
				continue
			}
			p.started = true
		}
		select {
		case p.q <- u:
		default:
			s.evictLocked(p, int64(1+len(p.q)))
			evicted = append(evicted, p)
		}
	}
	return evicted
}

// place sets u's shift and reports whether it is relayed: a continuing publisher's units
// wait for its first keyframe (its first unit without video), and a unit that would not
// follow its track's last one is dropped.
func (s *stream) place(u *unit) bool {
	if u.track >= len(s.last) {
		return false
	}
	if s.rebase {
		if s.hasVideo && !(u.main && u.key) {
			return false
		}
		step := s.frameDur
		if step <= 0 {
			step = defaultFrameDur
		}
		base := s.lastTS
		if s.hasVideo && s.relayed[s.mainTrack] {
			base = s.last[s.mainTrack] // audio follows, as it did the last publisher's frames
		}
		s.shift, s.rebase = base+step-u.ts, false
	}
	u.shift = s.shift
	t := u.ts + u.shift
	if s.continued && s.relayed[u.track] && t <= s.last[u.track] {
		return false
	}
	if (u.main || !s.hasVideo && u.track == 0) && s.relayed[u.track] && !u.config {
		if d := t - s.last[u.track]; d > 0 && d < time.Second {
			s.frameDur = d
		}
	}
	s.last[u.track], s.relayed[u.track] = t, true
	if t > s.lastTS {
		s.lastTS = t
	}
	return true
}

// evictLocked removes a slow player, counting the units it loses.
func (s *stream) evictLocked(p *player, lost int64) {
	p.gone.Store(true)
	delete(s.players, p)
	close(p.q)
	s.stats.Dropped += lost
	s.m.dropped.WithLabelValues(s.id).Add(float64(lost))
	s.m.slowPlayers.Inc()
}

// cache keeps the units since the last keyframe, within bounds; past them the cache is
// dropped until the next keyframe, and players joining meanwhile wait for that keyframe.
func (s *stream) cache(u *unit) {
	if s.gopMaxBytes < 0 || !s.hasVideo {
		return
	}
	if u.main && u.key {
		clear(s.gop)
		s.gop, s.gopBytes, s.gopOK = s.gop[:0], 0, true
	}
	if !s.gopOK {
		return
	}
	if len(s.gop) >= s.gopMaxUnits || s.gopBytes+u.size > s.gopMaxBytes {
		clear(s.gop)
		s.gop, s.gopBytes, s.gopOK = nil, 0, false
		return
	}
	s.gop = append(s.gop, u)
	s.gopBytes += u.size
}

// received records the publisher's byte count (its total so far, added to the earlier publishers') and updates the rate gauges
// about once a second.
func (s *stream) received(total int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
	total += s.bytesBase
	if d := total - s.stats.Bytes; d > 0 {
		s.m.bytes.WithLabelValues(s.id).Add(float64(d))
	}
	s.stats.Bytes = total
	now := time.Now()
	if el := now.Sub(s.win.start); el >= time.Second {
		sec := el.Seconds()
		s.stats.BitrateBPS = float64(total-s.win.bytes) * 8 / sec
		s.fps = float64(s.stats.VideoFrames-s.win.frames) / sec
		s.win = window{start: now, bytes: total, frames: s.stats.VideoFrames}
		s.m.bitrate.WithLabelValues(s.id).Set(s.stats.BitrateBPS)
		s.m.fps.WithLabelValues(s.id).Set(s.fps)
	}
}

// join adds a player. It starts from the cached GOP when there is one that fits its queue,
// else at the next keyframe. It reports false when the stream has ended.
func (s *stream) join(p *player) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return false
	}
	switch {
	case !s.hasVideo:
		p.started = true
	case s.gopOK && len(s.gop) > 0 && len(s.gop) <= cap(p.q)-len(p.q):
		for _, u := range s.gop {
			p.q <- u
		}
		p.started = true
	}
	s.players[p] = struct{}{}
	return true
}

// leave removes a player that stopped on its own. A player whose write timed out is slow:
// it is counted like one evicted for a full queue.
func (s *stream) leave(p *player, slow bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.players[p]; !ok {
		return
	}
	if slow && !s.ended {
		s.evictLocked(p, int64(len(p.q)))
		return
	}
	p.gone.Store(true)
	delete(s.players, p)
	close(p.q)
}

// end stops the stream: players get what is queued, then their queues close. It returns the
// final stats, with BitrateBPS the mean over the stream's life.
func (s *stream) end() StreamStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		s.ended = true
		for p := range s.players {
			close(p.q)
		}
		clear(s.players)
		clear(s.gop)
		s.gop = nil
		s.stats.Ended = time.Now()
		if d := s.stats.Ended.Sub(s.stats.Started).Seconds(); d > 0 && !s.stats.Started.IsZero() {
			s.stats.BitrateBPS = float64(s.stats.Bytes) * 8 / d
		}
	}
	return s.stats
}

// snapshot is what Live reports: the stream's info (the frame rate measured when the SPS
// has none) and its stats so far, BitrateBPS over the last second or so.
func (s *stream) snapshot() (StreamInfo, StreamStats) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info := s.describeOnce
	if info.FPS == 0 {
		info.FPS = s.fps
	}
	return info, s.stats
}
