package cmaf

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/Eyevinn/mp4ff/aac"
	"github.com/Eyevinn/mp4ff/hevc"
	"github.com/Eyevinn/mp4ff/mp4"
)

// Track IDs of the tracks Sluice serves: every video rendition is track 1
// and the audio track 2, whatever the encoder numbered them, so that a
// video rendition and the audio can be served muxed in one file (LL-HLS)
// as they are served apart.
const (
	VideoTrackID = 1
	AudioTrackID = 2
)

// Track describes one rendition's track, as declared by its init segment.
type Track struct {
	Kind TrackKind
	// TrackID is the track's ID in what Sluice serves (VideoTrackID or
	// AudioTrackID); the encoder's own is srcID.
	TrackID    uint32
	srcID      uint32
	Timescale  uint32
	Codec      string // RFC 6381: "avc1.64001f", "mp4a.40.2"
	Width      int
	Height     int
	SampleRate int
	Channels   int
	// Init is the init segment Sluice serves: the encoder's ftyp and moov
	// without edit lists, since the packager owns the timeline, and
	// without what differs from one encoder run to the next (creation
	// times, user data such as the muxer's name and version), so that
	// runs with the same settings serve the same bytes.
	Init []byte
	trex *mp4.TrexBox
}

func newTrack(ftyp *mp4.FtypBox, moov *mp4.MoovBox) (*Track, error) {
	if moov.Trak == nil || len(moov.Traks) != 1 {
		return nil, errors.New("init segment must declare exactly one track")
	}
	trak := moov.Trak
	if trak.Tkhd == nil || trak.Mdia == nil || trak.Mdia.Mdhd == nil || trak.Mdia.Hdlr == nil ||
		trak.Mdia.Minf == nil || trak.Mdia.Minf.Stbl == nil || trak.Mdia.Minf.Stbl.Stsd == nil {
		return nil, errors.New("init segment track lacks tkhd, mdhd, hdlr or stsd")
	}
	if moov.Mvex == nil || moov.Mvex.Trex == nil {
		return nil, errors.New("init segment has no mvex/trex: not a fragmented MP4")
	}
	t := &Track{
		srcID:     trak.Tkhd.TrackID,
		Timescale: trak.Mdia.Mdhd.Timescale,
	}
	// The encoder's defaults read its fragments; the served init gets the
	// served track ID.
	trex := *moov.Mvex.Trex
	t.trex = &trex
	if t.Timescale == 0 {
		return nil, errors.New("track timescale is zero")
	}
	stsd := trak.Mdia.Minf.Stbl.Stsd
	switch trak.Mdia.Hdlr.HandlerType {
	case "vide":
		t.Kind = Video
		switch v := stsd.AvcX; {
		case v != nil && v.AvcC != nil:
			t.Width, t.Height = int(v.Width), int(v.Height)
			rec := v.AvcC.DecConfRec
			t.Codec = fmt.Sprintf("%s.%02x%02x%02x", v.Type(), rec.AVCProfileIndication, rec.ProfileCompatibility, rec.AVCLevelIndication)
		case stsd.HvcX != nil && stsd.HvcX.HvcC != nil:
			// H.265, from a passthrough rung.
			v := stsd.HvcX
			t.Width, t.Height = int(v.Width), int(v.Height)
			t.Codec = v.Type()
			if spss := v.HvcC.GetNalusForType(hevc.NALU_SPS); len(spss) > 0 {
				if sps, err := hevc.ParseSPSNALUnit(spss[0]); err == nil {
					t.Codec = hevc.CodecString(v.Type(), sps)
				}
			}
		default:
			return nil, errors.New("video track is neither H.264 (avc1/avcC) nor H.265 (hvc1/hvcC)")
		}
	case "soun":
		t.Kind = Audio
		a := stsd.Mp4a
		if a == nil || a.Esds == nil || a.Esds.DecConfigDescriptor.DecSpecificInfo == nil {
			return nil, errors.New("audio track is not AAC (no mp4a/esds)")
		}
		asc, err := aac.DecodeAudioSpecificConfig(bytes.NewReader(a.Esds.DecConfigDescriptor.DecSpecificInfo.DecConfig))
		if err != nil {
			return nil, fmt.Errorf("audio track: %w", err)
		}
		t.Codec = fmt.Sprintf("mp4a.40.%d", asc.ObjectType)
		t.SampleRate = asc.SamplingFrequency
		t.Channels = int(a.ChannelCount)
	default:
		return nil, fmt.Errorf("track handler %q is neither video nor audio", trak.Mdia.Hdlr.HandlerType)
	}
	dropEditLists(trak)
	normalise(moov)
	t.TrackID = VideoTrackID
	if t.Kind == Audio {
		t.TrackID = AudioTrackID
	}
	trak.Tkhd.TrackID = t.TrackID
	moov.Mvex.Trex.TrackID = t.TrackID
	if moov.Mvhd != nil {
		moov.Mvhd.NextTrackID = AudioTrackID + 1
	}
	var buf bytes.Buffer
	if ftyp != nil {
		if err := ftyp.Encode(&buf); err != nil {
			return nil, err
		}
	}
	if err := moov.Encode(&buf); err != nil {
		return nil, err
	}
	t.Init = buf.Bytes()
	return t, nil
}

func dropEditLists(trak *mp4.TrakBox) {
	if trak.Edts == nil {
		return
	}
	kept := trak.Children[:0]
	for _, c := range trak.Children {
		if c.Type() != "edts" {
			kept = append(kept, c)
		}
	}
	trak.Children = kept
	trak.Edts = nil
}

// normalise clears what an encoder writes into a moov that depends on
// when or by which build it ran rather than on the media: creation and
// modification times, and user data boxes (udta: the writing
// application's name and version).
func normalise(moov *mp4.MoovBox) {
	if moov.Mvhd != nil {
		moov.Mvhd.CreationTime, moov.Mvhd.ModificationTime = 0, 0
	}
	moov.Children = withoutUdta(moov.Children)
	for _, trak := range moov.Traks {
		if trak.Tkhd != nil {
			trak.Tkhd.CreationTime, trak.Tkhd.ModificationTime = 0, 0
		}
		if trak.Mdia != nil && trak.Mdia.Mdhd != nil {
			trak.Mdia.Mdhd.CreationTime, trak.Mdia.Mdhd.ModificationTime = 0, 0
		}
		trak.Children = withoutUdta(trak.Children)
		trak.Udta = nil
	}
}

func withoutUdta(boxes []mp4.Box) []mp4.Box {
	kept := boxes[:0]
	for _, b := range boxes {
		if b.Type() != "udta" {
			kept = append(kept, b)
		}
	}
	return kept
}
