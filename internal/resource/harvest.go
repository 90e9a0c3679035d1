package resource

import "time"

// HarvestState is where a harvest job is.
type HarvestState string

// Harvest job states.
const (
	HarvestSubmitted   HarvestState = "SUBMITTED"
	HarvestProgressing HarvestState = "PROGRESSING"
	HarvestComplete    HarvestState = "COMPLETE"
	HarvestError       HarvestState = "ERROR"
)

// HarvestSpec asks for a range of a channel endpoint's DVR window to be
// written as a VOD package (HLS and DASH) without re-encoding.
type HarvestSpec struct {
	Channel  string `json:"channel"`
	Endpoint string `json:"endpoint"`
	// Start and End are RFC 3339 or epoch seconds, as in time-shifted
	// manifests.
	Start string `json:"start"`
	End   string `json:"end"`
	// Destination is the package's directory under the server's harvest
	// directory (default: the job ID); it is served at /harvest/<destination>/.
	Destination string `json:"destination,omitempty"`
}

// HarvestJob is a harvest request and its progress.
type HarvestJob struct {
	ID string `json:"id"`
	HarvestSpec
	State HarvestState `json:"state"`
	// Message says why a job failed.
	Message string `json:"message,omitempty"`
	// Segments and DurationSeconds describe the written package.
	Segments        int     `json:"segments,omitempty"`
	DurationSeconds float64 `json:"durationSeconds,omitempty"`
	// HLS and DASH are the package's manifest paths on this server.
	HLS  string `json:"hls,omitempty"`
	DASH string `json:"dash,omitempty"`
	// Node is the node that runs the job: only it marks the job failed
	// when it restarts with the job unfinished.
	Node      string    `json:"node,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}
