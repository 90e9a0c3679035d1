package pull

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/input/live"
)

// maxAudioWait is how many pictures the feed holds back its tracks for an
// audio track whose parameters come with its first frame (RTMP MP3).
const maxAudioWait = 100

// feed turns one connection to a source into a session of the input's
// hub. The protocol readers tell it the tracks and hand it frames; it
// follows the video parameter sets, declares the tracks once the video
// can be decoded, starts at a key frame, and keeps every track's DTS
// increasing. Readers may call it from several goroutines.
type feed struct {
	hub    *live.Hub
	pub    live.Publisher
	log    *slog.Logger
	prefix string
	// kicked is called when Sluice ends the session from outside.
	kicked func(reason string)
	now    func() time.Time

	mu           sync.Mutex
	sess         *live.Session
	closing      bool
	firstFrame   time.Time
	params       live.VideoParams
	video        *live.Track
	audio        *live.Track
	audioPending bool
	waited       int
	announced    bool
	keyed        bool
	videoClock   clock
	audioClock   clock
	warned       map[string]bool
}

// claim starts the session: the source is connected and about to send.
func (f *feed) claim() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sess != nil {
		return nil
	}
	s, err := f.hub.Claim(f.pub)
	if err != nil {
		return err
	}
	f.sess = s
	go func() {
		<-s.Done()
		f.mu.Lock()
		ours := f.closing
		f.mu.Unlock()
		if !ours {
			f.kicked(f.hub.Status().LastEndReason)
		}
	}()
	return nil
}

// close ends the session, if there is one, with a reason subscribers see.
func (f *feed) close(reason string) {
	f.mu.Lock()
	s := f.sess
	f.closing = true
	f.mu.Unlock()
	if s != nil {
		s.Close(reason)
	}
}

// lived returns how long media flowed, zero if it never did.
func (f *feed) lived() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.firstFrame.IsZero() {
		return 0
	}
	return f.now().Sub(f.firstFrame)
}

// session returns the claimed session, for demuxers that write to it
// directly (MPEG-TS); markLive then says when media began to flow.
func (f *feed) session() *live.Session {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sess
}

func (f *feed) markLive() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.firstFrame.IsZero() {
		f.firstFrame = f.now()
	}
}

// seedVideo sets a video track's codec and the parameter sets known out
// of band (SDP, an fMP4 init segment, an RTMP sequence header).
func (f *feed) seedVideo(codec live.Codec, sets ...[]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.observe(codec, nonEmpty(sets))
}

// expectAudio says an audio track exists whose parameters come with its
// first frame: the tracks wait a little for it.
func (f *feed) expectAudio() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.audio == nil {
		f.audioPending = true
	}
}

// setAudio declares (or changes) the audio track.
func (f *feed) setAudio(t *live.Track) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setAudioLocked(t)
}

func (f *feed) setAudioLocked(t *live.Track) {
	if a := f.audio; a != nil && a.Codec == t.Codec && a.SampleRate == t.SampleRate && a.Channels == t.Channels && bytes.Equal(a.AACConfig, t.AACConfig) {
		return
	}
	f.audio, f.audioPending = t, false
	if f.announced {
		f.announce()
	}
}

// writeVideo publishes an access unit, in the source's clock.
func (f *feed) writeVideo(codec live.Codec, pts, dts time.Duration, au [][]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sess == nil {
		return
	}
	au = nonEmpty(au)
	if len(au) == 0 {
		return
	}
	f.observe(codec, au)
	if !hasPicture(codec, au) || f.video == nil || f.video.Width == 0 {
		return // parameter sets only, or nothing decodable yet
	}
	if !f.announced {
		if f.audioPending && f.waited < maxAudioWait {
			f.waited++
			return
		}
		f.announce()
	}
	key := live.IsKey(codec, au)
	if !f.keyed {
		if !key {
			return
		}
		f.keyed = true
	}
	au = withParamSets(codec, au, f.video.ParamSets)
	pts, dts = f.videoClock.fix(pts, dts)
	if f.firstFrame.IsZero() {
		f.firstFrame = f.now()
	}
	f.sess.Write(live.Frame{Kind: live.Video, PTS: pts, DTS: dts, Key: key, NALUs: au})
}

// writeAudio publishes an audio frame, in the source's clock. Audio
// starts with the first video key frame.
func (f *feed) writeAudio(pts time.Duration, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sess == nil || f.audio == nil || !f.keyed || len(data) == 0 {
		return
	}
	pts, _ = f.audioClock.fix(pts, pts)
	f.sess.Write(live.Frame{Kind: live.Audio, PTS: pts, DTS: pts, Key: true, Data: data})
}

// writeMP3 publishes an MP3 frame, declaring the track from its header.
func (f *feed) writeMP3(pts time.Duration, frame []byte) (time.Duration, bool) {
	t, d, ok := mp3Frame(frame)
	if !ok {
		f.warn("bad mp3", "a malformed MP3 frame was dropped")
		return 0, false
	}
	f.mu.Lock()
	f.setAudioLocked(t)
	f.mu.Unlock()
	f.writeAudio(pts, frame)
	return d, true
}

// warn logs a problem with the source once per connection.
func (f *feed) warn(key, msg string) {
	f.mu.Lock()
	seen := f.warned[key]
	if f.warned == nil {
		f.warned = map[string]bool{}
	}
	f.warned[key] = true
	f.mu.Unlock()
	if !seen {
		f.log.Warn(f.prefix + msg)
	}
}

// observe follows the parameter sets; f.mu is held.
func (f *feed) observe(codec live.Codec, nalus [][]byte) {
	if f.params.Codec != codec {
		f.params = live.VideoParams{Codec: codec}
		f.video, f.announced = nil, false
	}
	if t, changed := f.params.Observe(nalus); changed {
		f.video, f.announced = t, false
	}
}

// announce declares the tracks; f.mu is held. Frames wait for the next
// key frame, since subscribers start decoding anew.
func (f *feed) announce() {
	tracks := []*live.Track{f.video}
	if f.audio != nil {
		tracks = append(tracks, f.audio)
	}
	f.sess.SetTracks(tracks)
	f.announced, f.keyed = true, false
	f.log.Info(f.prefix + "receiving " + describeTracks(tracks))
}

// describeTracks says what a source sends: "H264 1280x720, AAC 48000 Hz 2 ch".
func describeTracks(tracks []*live.Track) string {
	var parts []string
	for _, t := range tracks {
		if t.Kind == live.Video {
			parts = append(parts, fmt.Sprintf("%s %dx%d", t.Codec, t.Width, t.Height))
		} else {
			parts = append(parts, fmt.Sprintf("%s %d Hz %d ch", t.Codec, t.SampleRate, t.Channels))
		}
	}
	return strings.Join(parts, ", ")
}
