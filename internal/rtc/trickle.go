package rtc

import (
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"
)

// Bounds of a trickle-ICE fragment (RFC 8840) sent with PATCH.
const (
	MaxFragment          = 16 << 10
	maxFragmentCandidate = 64
)

// Fragment is what a trickle-ICE SDP fragment carries.
type Fragment struct {
	// Ufrag is the ICE username fragment the candidates belong to; a new
	// one means an ICE restart, which Sluice does not take.
	Ufrag      string
	Candidates []webrtc.ICECandidateInit
	// End is set by a=end-of-candidates.
	End bool
}

// ParseFragment reads an application/trickle-ice-sdpfrag body: the ICE
// credentials, media sections by mid, and their candidates.
func ParseFragment(body []byte) (Fragment, error) {
	var f Fragment
	if len(body) > MaxFragment {
		return f, fmt.Errorf("%w: the trickle-ICE fragment is longer than %d bytes", ErrBadSDP, MaxFragment)
	}
	var mid *string
	var index uint16
	sections := -1
	for line := range strings.SplitSeq(string(body), "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case line == "":
		case strings.HasPrefix(line, "a=ice-ufrag:"):
			f.Ufrag = strings.TrimPrefix(line, "a=ice-ufrag:")
		case strings.HasPrefix(line, "a=ice-pwd:"), strings.HasPrefix(line, "a=ice-options:"), strings.HasPrefix(line, "a=group:"):
		case strings.HasPrefix(line, "m="):
			sections++
			if sections >= MaxMedia {
				return f, fmt.Errorf("%w: more than %d media sections in the fragment", ErrBadSDP, MaxMedia)
			}
			index = uint16(sections) //nolint:gosec // bounded by MaxMedia
			mid = nil
		case strings.HasPrefix(line, "a=mid:"):
			m := strings.TrimPrefix(line, "a=mid:")
			mid = &m
		case strings.HasPrefix(line, "a=candidate:"):
			if len(f.Candidates) >= maxFragmentCandidate {
				return f, fmt.Errorf("%w: more than %d candidates in the fragment", ErrBadSDP, maxFragmentCandidate)
			}
			c := webrtc.ICECandidateInit{Candidate: strings.TrimPrefix(line, "a=")}
			if mid != nil {
				m := *mid
				c.SDPMid = &m
			}
			if sections >= 0 {
				i := index
				c.SDPMLineIndex = &i
			}
			f.Candidates = append(f.Candidates, c)
		case line == "a=end-of-candidates":
			f.End = true
		case len(line) > 2 && line[1] == '=':
			// Other SDP lines are allowed and ignored.
		default:
			return f, fmt.Errorf("%w: the fragment has a line that is not SDP", ErrBadSDP)
		}
	}
	return f, nil
}
