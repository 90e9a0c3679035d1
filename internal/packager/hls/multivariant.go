package hls

import (
	"bytes"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
)

// audioGroup is the GROUP-ID shared by the audio renditions.
const audioGroup = "audio"

// Multivariant renders the multivariant playlist (index.m3u8): the audio
// renditions as one EXT-X-MEDIA group and one EXT-X-STREAM-INF per video
// rendition in ladder order. While the newest run's audio is generated
// silence (its source has none), the audio is left out: players start
// sooner without a track that carries nothing. It lists the ladder even before segments exist;
// the media playlists answer ErrNoSegments until then.
//
// Each variant's BANDWIDTH adds the highest audio peak to the video peak (and
// AVERAGE-BANDWIDTH the highest audio mean to the video mean), so it bounds
// every audio choice. A snapshot without video lists the audio renditions as
// variants of their own so that the playlist stays playable.
func Multivariant(s *cmaf.Snapshot) []byte {
	var video, audio []*cmaf.Rendition
	if s != nil {
		for i := range s.Renditions {
			r := &s.Renditions[i]
			switch r.Kind {
			case cmaf.Video:
				video = append(video, r)
			case cmaf.Audio:
				audio = append(audio, r)
			}
		}
		if s.Silent() && len(video) > 0 {
			audio = nil // the source has no audio: only generated silence
		}
	}

	var b bytes.Buffer
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:7\n")
	writeIndependent(&b, s)

	if len(video) == 0 {
		for _, a := range audio {
			writeStreamInf(&b, a.Bandwidth, a.AverageBandwidth, a.Codec, "", 0, "")
			b.WriteString(playlistURI(a.ID) + "\n")
		}
		return b.Bytes()
	}

	var audioPeak, audioAvg int64
	var audioCodecs []string
	for i, a := range audio {
		b.WriteString(`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="` + audioGroup + `",NAME="` + quotedValue(a.ID) + `"`)
		if i == 0 {
			b.WriteString(",DEFAULT=YES")
		} else {
			b.WriteString(",DEFAULT=NO")
		}
		b.WriteString(",AUTOSELECT=YES")
		if a.Channels > 0 {
			b.WriteString(`,CHANNELS="` + strconv.Itoa(a.Channels) + `"`)
		}
		b.WriteString(`,URI="` + playlistURI(a.ID) + "\"\n")

		audioPeak = max(audioPeak, a.Bandwidth)
		audioAvg = max(audioAvg, a.AverageBandwidth)
		if a.Codec != "" && !slices.Contains(audioCodecs, a.Codec) {
			audioCodecs = append(audioCodecs, a.Codec)
		}
	}

	group := ""
	if len(audio) > 0 {
		group = audioGroup
	}
	for _, v := range video {
		codecs := audioCodecs
		if v.Codec != "" {
			codecs = append([]string{v.Codec}, audioCodecs...)
		}
		avg := int64(0)
		if v.AverageBandwidth > 0 {
			avg = v.AverageBandwidth + audioAvg
		}
		resolution := ""
		if v.Width > 0 && v.Height > 0 {
			resolution = strconv.Itoa(v.Width) + "x" + strconv.Itoa(v.Height)
		}
		writeStreamInf(&b, v.Bandwidth+audioPeak, avg, strings.Join(codecs, ","), resolution, v.FrameRate, group)
		b.WriteString(playlistURI(v.ID) + "\n")
	}
	return b.Bytes()
}

// MuxedMultivariant renders the multivariant playlist of an LL-HLS
// endpoint whose video renditions are served muxed with the first audio
// rendition: one variant per video rendition (R/av.m3u8), its CODECS
// naming both, its bandwidths adding the audio's, and no audio group, so
// that a player loads one playlist and one part at a time instead of two.
func MuxedMultivariant(s *cmaf.Snapshot) []byte {
	var audio *cmaf.Rendition
	if s != nil {
		for i := range s.Renditions {
			if s.Renditions[i].Kind == cmaf.Audio {
				audio = &s.Renditions[i]
				break
			}
		}
	}
	if audio == nil {
		return Multivariant(s)
	}
	var b bytes.Buffer
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:7\n")
	writeIndependent(&b, s)
	for i := range s.Renditions {
		v := &s.Renditions[i]
		if v.Kind != cmaf.Video {
			continue
		}
		m, _ := s.Muxed(v.ID, audio.ID)
		avg := int64(0)
		if v.AverageBandwidth > 0 {
			avg = m.AverageBandwidth
		}
		resolution := ""
		if v.Width > 0 && v.Height > 0 {
			resolution = strconv.Itoa(v.Width) + "x" + strconv.Itoa(v.Height)
		}
		codecs := m.Codec
		if v.Codec == "" {
			codecs = ""
		}
		writeStreamInf(&b, m.Bandwidth, avg, codecs, resolution, v.FrameRate, "")
		b.WriteString(url.PathEscape(v.ID) + "/" + MuxedPlaylist + "\n")
	}
	return b.Bytes()
}

// TransportStreamMultivariant renders the multivariant playlist of an
// HLS_TS endpoint: one variant per video rendition, each of whose MPEG-TS
// segments also carries the first audio rendition, so there is no audio
// group. BANDWIDTH adds that audio's peak.
func TransportStreamMultivariant(s *cmaf.Snapshot) []byte {
	var b bytes.Buffer
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n")
	if s == nil {
		return b.Bytes()
	}
	var audio *cmaf.Rendition
	for i := range s.Renditions {
		if s.Renditions[i].Kind == cmaf.Audio {
			audio = &s.Renditions[i]
			break
		}
	}
	for i := range s.Renditions {
		v := &s.Renditions[i]
		if v.Kind != cmaf.Video {
			continue
		}
		bw, avg, codecs := v.Bandwidth, v.AverageBandwidth, v.Codec
		if audio != nil {
			bw += audio.Bandwidth
			if avg > 0 {
				avg += audio.AverageBandwidth
			}
			if audio.Codec != "" {
				codecs = strings.TrimPrefix(codecs+","+audio.Codec, ",")
			}
		}
		resolution := ""
		if v.Width > 0 && v.Height > 0 {
			resolution = strconv.Itoa(v.Width) + "x" + strconv.Itoa(v.Height)
		}
		writeStreamInf(&b, bw, avg, codecs, resolution, v.FrameRate, "")
		b.WriteString(playlistURI(v.ID) + "\n")
	}
	return b.Bytes()
}

// writeIndependent writes EXT-X-INDEPENDENT-SEGMENTS unless a rendition
// has a segment that does not start with a key frame.
func writeIndependent(b *bytes.Buffer, s *cmaf.Snapshot) {
	if s != nil {
		for i := range s.Renditions {
			if !independent(s.Renditions[i].Segments) {
				return
			}
		}
	}
	b.WriteString("#EXT-X-INDEPENDENT-SEGMENTS\n")
}

// writeStreamInf writes one EXT-X-STREAM-INF tag, leaving out the optional
// attributes whose value is unknown (zero or empty).
func writeStreamInf(b *bytes.Buffer, bandwidth, average int64, codecs, resolution string, frameRate float64, audio string) {
	b.WriteString("#EXT-X-STREAM-INF:BANDWIDTH=" + strconv.FormatInt(max(bandwidth, 0), 10))
	if average > 0 {
		b.WriteString(",AVERAGE-BANDWIDTH=" + strconv.FormatInt(average, 10))
	}
	if codecs != "" {
		b.WriteString(`,CODECS="` + quotedValue(codecs) + `"`)
	}
	if resolution != "" {
		b.WriteString(",RESOLUTION=" + resolution)
	}
	if frameRate > 0 {
		b.WriteString(",FRAME-RATE=" + strconv.FormatFloat(frameRate, 'f', 3, 64))
	}
	if audio != "" {
		b.WriteString(`,AUDIO="` + audio + `"`)
	}
	b.WriteByte('\n')
}
