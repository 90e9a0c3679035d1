package resource

import (
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// validateLive checks the settings of push and pull inputs.
func (s *InputSpec) validateLive(errs *FieldErrors) {
	if s.TestPattern != nil {
		errs.Add("testPattern", "only TEST_PATTERN inputs take a testPattern")
	}
	if s.Type.IsPush() {
		if len(s.SecurityGroups) == 0 {
			errs.Add("securityGroups", "a push input needs at least one input security group (one allowing 0.0.0.0/0 accepts anyone)")
		}
		for i, g := range s.SecurityGroups {
			errs.CheckName(Index("securityGroups", i), g)
		}
	} else if len(s.SecurityGroups) > 0 {
		errs.Add("securityGroups", "only push inputs take security groups: Sluice connects out for "+string(s.Type))
	}
	switch s.Type {
	case InputUDPPush, InputRTPPush:
		if s.Port < 1024 || s.Port > 65535 {
			errs.Add("port", "a "+string(s.Type)+" input needs a UDP port from 1024 to 65535")
		}
	default:
		if s.Port != 0 {
			errs.Add("port", "only UDP_PUSH and RTP_PUSH inputs take a port")
		}
	}
	switch s.Type {
	case InputRTMPPush, InputSRTListener, InputUDPPush, InputRTPPush, InputWHIPPush:
		if s.URL != "" {
			errs.Add("url", "publishers send to a push input: it takes no url")
		}
	case InputSRTCaller:
		u, err := url.Parse(s.URL)
		if err != nil || u.Scheme != "srt" || u.Host == "" || u.Port() == "" {
			errs.Add("url", "an SRT_CALLER input needs the address it calls: srt://host:port")
		}
	case InputURLPull:
		validatePullURL(errs, s.URL)
	}
	if srt := s.SRT; srt != nil {
		if s.Type != InputSRTListener && s.Type != InputSRTCaller {
			errs.Add("srt", "only SRT inputs take srt settings")
		}
		if n := len(srt.Passphrase); n != 0 && (n < 10 || n > 79) {
			errs.Add("srt.passphrase", "must be 10 to 79 characters")
		}
		if srt.LatencyMs < 0 || srt.LatencyMs > 10000 {
			errs.Add("srt.latencyMs", "must be from 0 to 10000")
		}
		if strings.ContainsAny(srt.StreamID, "\x00\r\n") || len(srt.StreamID) > 512 {
			errs.Add("srt.streamId", "must be at most 512 printable characters")
		}
		if srt.StreamID != "" && s.Type != InputSRTCaller {
			errs.Add("srt.streamId", "an SRT_LISTENER's stream id is its generated stream key")
		}
	}
}

// Pull schemes a URL_PULL input accepts.
const pullSchemes = "http, https (HLS playlists or MPEG-TS), rtmp, rtmps, rtsp, rtsps"

func validatePullURL(errs *FieldErrors, raw string) {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || u.Host == "" || strings.ContainsAny(raw, "\x00\r\n ") {
		errs.Add("url", "a URL_PULL input needs the URL it pulls: "+pullSchemes)
		return
	}
	switch u.Scheme {
	case "http", "https", "rtmp", "rtmps", "rtsp", "rtsps":
	default:
		errs.Add("url", "scheme "+quote(u.Scheme)+" cannot be pulled: one of "+pullSchemes)
	}
}

// SecurityGroupSpec is an input security group: who may publish to the
// push inputs it is attached to.
type SecurityGroupSpec struct {
	Name string `json:"name"`
	// Allow lists IPv4 and IPv6 CIDR blocks ("203.0.113.0/24", "2001:db8::/32");
	// a single address is a /32 or /128.
	Allow []string `json:"allow"`
}

// SecurityGroup is a security group as the server keeps it.
type SecurityGroup struct {
	ID    string `json:"id"`
	Stack string `json:"stack,omitempty"`
	SecurityGroupSpec
	// Inputs are the inputs the group is attached to.
	Inputs    []string  `json:"inputs"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Validate checks the group and names every wrong field.
func (g *SecurityGroupSpec) Validate() error {
	var errs FieldErrors
	errs.CheckName("name", g.Name)
	if len(g.Allow) == 0 {
		errs.Add("allow", "at least one CIDR block is required")
	}
	if len(g.Allow) > 1000 {
		errs.Add("allow", "at most 1000 CIDR blocks")
	}
	for i, c := range g.Allow {
		if _, _, err := net.ParseCIDR(c); err != nil {
			if net.ParseIP(c) != nil {
				errs.Add(Index("allow", i), quote(c)+" is an address, not a block: write "+c+"/"+strconv.Itoa(hostBits(c)))
				continue
			}
			errs.Add(Index("allow", i), quote(c)+" is not a CIDR block such as 203.0.113.0/24 or 2001:db8::/32")
		}
	}
	return errs.Err()
}

func hostBits(ip string) int {
	if strings.Contains(ip, ":") {
		return 128
	}
	return 32
}
