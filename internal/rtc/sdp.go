package rtc

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/pion/sdp/v3"
)

// ErrBadSDP is the sentinel of an SDP offer Sluice does not take.
var ErrBadSDP = errors.New("unusable SDP offer")

// Bounds of what a client may send.
const (
	// MaxSDP is the largest SDP offer read; browsers' offers are 3–10 KiB.
	MaxSDP = 64 << 10
	// MaxMedia bounds the media sections of an offer.
	MaxMedia = 8
	// maxLines bounds the lines of an offer, and maxLine one line's length.
	maxLines = 2000
	maxLine  = 4096
)

// Direction is what an offer must ask for: to receive (WHEP) or to send
// (WHIP).
type Direction int

// Directions of offers.
const (
	// Receive: a viewer's offer (recvonly or sendrecv media).
	Receive Direction = iota + 1
	// Send: a publisher's offer (sendonly or sendrecv media).
	Send
)

// Offer is what CheckOffer learned of an offer.
type Offer struct {
	// Video and Audio count the media sections of each kind that take part.
	Video, Audio int
	// H264 and Opus report whether a section offers each codec.
	H264, Opus bool
}

// CheckOffer reads an SDP offer defensively before pion gets it: bounded
// size, lines and media sections, text only, pion's parser, then what
// WebRTC needs (ICE credentials, a DTLS fingerprint, audio or video in the
// expected direction, H.264 or Opus among the codecs).
func CheckOffer(body []byte, dir Direction) (Offer, error) {
	var o Offer
	if len(body) == 0 {
		return o, fmt.Errorf("%w: the body is empty", ErrBadSDP)
	}
	if len(body) > MaxSDP {
		return o, fmt.Errorf("%w: longer than %d bytes", ErrBadSDP, MaxSDP)
	}
	if !utf8.Valid(body) || strings.ContainsRune(string(body), 0) {
		return o, fmt.Errorf("%w: not text", ErrBadSDP)
	}
	lines := strings.Split(string(body), "\n")
	if len(lines) > maxLines {
		return o, fmt.Errorf("%w: more than %d lines", ErrBadSDP, maxLines)
	}
	for _, l := range lines {
		if len(l) > maxLine {
			return o, fmt.Errorf("%w: a line is longer than %d bytes", ErrBadSDP, maxLine)
		}
	}
	var d sdp.SessionDescription
	if err := d.UnmarshalString(string(body)); err != nil {
		return o, fmt.Errorf("%w: %v", ErrBadSDP, err) //nolint:errorlint // pion's parse errors are words, not sentinels
	}
	if len(d.MediaDescriptions) == 0 {
		return o, fmt.Errorf("%w: no media", ErrBadSDP)
	}
	if len(d.MediaDescriptions) > MaxMedia {
		return o, fmt.Errorf("%w: more than %d media sections", ErrBadSDP, MaxMedia)
	}
	_, sessionFP := d.Attribute("fingerprint")
	sessionUfrag, _ := d.Attribute("ice-ufrag")
	for i, m := range d.MediaDescriptions {
		kind := m.MediaName.Media
		if kind == "application" {
			continue
		}
		if kind != "audio" && kind != "video" {
			return o, fmt.Errorf("%w: media section %d is %q, not audio or video", ErrBadSDP, i, kind)
		}
		if m.MediaName.Port.Value == 0 {
			continue // rejected section
		}
		ufrag, _ := m.Attribute("ice-ufrag")
		if ufrag == "" && sessionUfrag == "" {
			return o, fmt.Errorf("%w: media section %d has no ICE credentials", ErrBadSDP, i)
		}
		if _, fp := m.Attribute("fingerprint"); !fp && !sessionFP {
			return o, fmt.Errorf("%w: media section %d has no DTLS fingerprint", ErrBadSDP, i)
		}
		if !directionFits(m, dir) {
			continue
		}
		codecs := codecNames(m)
		switch kind {
		case "video":
			o.Video++
			o.H264 = o.H264 || codecs["H264"]
		case "audio":
			o.Audio++
			o.Opus = o.Opus || codecs["OPUS"]
		}
	}
	if o.Video+o.Audio == 0 {
		want := "recvonly"
		if dir == Send {
			want = "sendonly"
		}
		return o, fmt.Errorf("%w: no audio or video section is %s or sendrecv", ErrBadSDP, want)
	}
	if o.Video > 0 && !o.H264 && o.Audio > 0 && !o.Opus {
		return o, fmt.Errorf("%w: neither H.264 nor Opus is offered", ErrBadSDP)
	}
	return o, nil
}

// directionFits reports whether a media section goes the way dir needs.
func directionFits(m *sdp.MediaDescription, dir Direction) bool {
	for _, a := range m.Attributes {
		switch a.Key {
		case "inactive":
			return false
		case "sendonly":
			return dir == Send
		case "recvonly":
			return dir == Receive
		}
	}
	return true // sendrecv, stated or not
}

// codecNames returns the codec names of a media section's rtpmap lines,
// upper case.
func codecNames(m *sdp.MediaDescription) map[string]bool {
	out := map[string]bool{}
	for _, a := range m.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		_, enc, ok := strings.Cut(a.Value, " ")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(enc, "/")
		out[strings.ToUpper(name)] = true
	}
	return out
}
