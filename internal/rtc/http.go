package rtc

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/sluice-video/sluice/internal/problem"
)

// Media types of WHIP and WHEP.
const (
	ContentSDP      = "application/sdp"
	ContentFragment = "application/trickle-ice-sdpfrag"
)

// CORS sets the headers that let players and publishers on other origins
// use a WHIP or WHEP resource.
func CORS(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Location, ETag, Link, Accept-Patch, Accept-Post")
}

// Preflight answers an OPTIONS request of a WHIP or WHEP endpoint or
// session: CORS, the methods and what POST and PATCH accept.
func Preflight(w http.ResponseWriter, ice []webrtc.ICEServer) {
	h := w.Header()
	CORS(h)
	h.Set("Access-Control-Allow-Methods", "POST, PATCH, DELETE, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
	h.Set("Access-Control-Max-Age", "86400")
	h.Set("Accept-Post", ContentSDP)
	h.Set("Accept-Patch", ContentFragment)
	SetLinks(h, ice)
	w.WriteHeader(http.StatusNoContent)
}

// SetLinks advertises the STUN servers in Link headers (WHIP and WHEP
// §4.6), so that a client uses the same ones.
func SetLinks(h http.Header, ice []webrtc.ICEServer) {
	for _, s := range ice {
		for _, u := range s.URLs {
			if strings.ContainsAny(u, "<>\"\r\n") {
				continue
			}
			h.Add("Link", fmt.Sprintf(`<%s>; rel="ice-server"`, u))
		}
	}
}

// ErrMediaType refuses a body of the wrong type.
var ErrMediaType = errors.New("unsupported media type")

// ReadBody reads a request body of media type want, at most limit bytes.
func ReadBody(r *http.Request, want string, limit int) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !strings.EqualFold(mt, want) {
		return nil, fmt.Errorf("%w: the body must be %s", ErrMediaType, want)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(body) > limit {
		return nil, fmt.Errorf("%w: the body is longer than %d bytes", ErrBadSDP, limit)
	}
	return body, nil
}

// Answer completes a session's negotiation: the answer for the offer,
// set locally, returned once ICE gathering is complete or wait has
// passed (the candidates gathered later reach the client only if it
// asks again; with host candidates on a shared port gathering is
// immediate).
func Answer(pc *webrtc.PeerConnection, offer string, wait time.Duration) (string, error) {
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadSDP, err) //nolint:errorlint // pion's errors are words to show
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadSDP, err) //nolint:errorlint // pion's errors are words to show
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", err
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-gathered:
	case <-t.C:
	}
	return pc.LocalDescription().SDP, nil
}

// AddCandidates applies a PATCH's trickle-ICE fragment to a session. A
// fragment with other credentials asks for an ICE restart: refused with
// ErrRestart.
func AddCandidates(pc *webrtc.PeerConnection, f Fragment) error {
	if rd := pc.RemoteDescription(); rd != nil && f.Ufrag != "" && !strings.Contains(rd.SDP, "a=ice-ufrag:"+f.Ufrag+"\r\n") && !strings.Contains(rd.SDP, "a=ice-ufrag:"+f.Ufrag+"\n") {
		return ErrRestart
	}
	for _, c := range f.Candidates {
		if err := pc.AddICECandidate(c); err != nil {
			return fmt.Errorf("%w: candidate: %v", ErrBadSDP, err) //nolint:errorlint // pion's errors are words to show
		}
	}
	return nil
}

// ErrRestart refuses an ICE restart.
var ErrRestart = errors.New("ICE restarts are not supported: start a new session")

// Trickle answers the body of a PATCH with trickle-ICE candidates: a
// fragment of type ContentFragment, at most MaxFragment bytes, whose
// candidates it adds to pc. Fail answers its errors.
func Trickle(r *http.Request, pc *webrtc.PeerConnection) error {
	body, err := ReadBody(r, ContentFragment, MaxFragment)
	if err != nil {
		return err
	}
	frag, err := ParseFragment(body)
	if err != nil {
		return err
	}
	return AddCandidates(pc, frag)
}

// Fail answers a WHIP or WHEP request that err refused: a body of the
// wrong type 415, an ICE restart 422, a bad SDP or candidate 400. Any
// other error is the server's own: logged, with protocol naming the
// session's kind ("WHIP"), and answered 500.
func Fail(w http.ResponseWriter, r *http.Request, logger *slog.Logger, protocol string, err error) {
	switch {
	case errors.Is(err, ErrMediaType):
		problem.Write(w, r, http.StatusUnsupportedMediaType, err.Error(), 0)
	case errors.Is(err, ErrRestart):
		problem.Write(w, r, http.StatusUnprocessableEntity, err.Error(), 0)
	case errors.Is(err, ErrBadSDP):
		problem.Write(w, r, http.StatusBadRequest, err.Error(), 0)
	default:
		logger.Warn("a "+protocol+" session could not start", "error", err)
		problem.Write(w, r, http.StatusInternalServerError, "the session could not start", 0)
	}
}
