package metrics

// FrameRefusal says why the frames API refused a request.
type FrameRefusal string

// Reasons for refusing a frames API request.
const (
	FrameRefusedNoCredentials  FrameRefusal = "no_credentials"  // none given where they are needed
	FrameRefusedBadCredentials FrameRefusal = "bad_credentials" // a wrong token or a refused signature
	FrameRefusedServerLimit    FrameRefusal = "server_limit"    // the server serves its most streams
	FrameRefusedClientLimit    FrameRefusal = "client_limit"    // the client address holds its most streams
)

var frameRefusals = []FrameRefusal{
	FrameRefusedNoCredentials, FrameRefusedBadCredentials, FrameRefusedServerLimit, FrameRefusedClientLimit,
}

// startFrameRefusals makes every refusal series exist at 0, so their rates
// exist before the first refusal.
func (m *Metrics) startFrameRefusals() {
	for _, r := range frameRefusals {
		m.f.frameRefused.WithLabelValues(string(r))
	}
}

// FrameShares reports how many frames API streams read a channel and how
// many decoders they share. A channel that was removed is not brought back.
func (m *Metrics) FrameShares(channel string, streams, decoders int) {
	m.mu.RLock()
	_, known := m.channels[channel]
	m.mu.RUnlock()
	if !known {
		return
	}
	m.f.frameStreams.WithLabelValues(channel).Set(float64(streams))
	m.f.frameDecoders.WithLabelValues(channel).Set(float64(decoders))
}

// PipelinesRunning reports how many pipelines of a channel deliver
// segments, from the node that reports for the channel; -1 forgets the
// series (another node reports the channel now, or none runs it here).
func (m *Metrics) PipelinesRunning(channel string, n int) {
	if n < 0 {
		m.f.pipelines.DeleteLabelValues(channel)
		return
	}
	m.f.pipelines.WithLabelValues(channel).Set(float64(n))
}

// FramesDropped counts pictures a channel's frames API streams lost by
// reading too slowly.
func (m *Metrics) FramesDropped(channel string, n int) {
	if n > 0 {
		m.f.frameDropped.WithLabelValues(channel).Add(float64(n))
	}
}

// FrameRefused counts a refused frames API request.
func (m *Metrics) FrameRefused(reason FrameRefusal) {
	m.f.frameRefused.WithLabelValues(string(reason)).Inc()
}
