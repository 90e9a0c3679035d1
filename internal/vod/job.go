package vod

import (
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// Job states.
const (
	StateSubmitted   = "SUBMITTED"
	StateProgressing = "PROGRESSING"
	StateComplete    = "COMPLETE"
	StateError       = "ERROR"
	StateCanceled    = "CANCELED"
)

// Phases of a PROGRESSING job.
const (
	PhaseProbing     = "PROBING"
	PhaseTranscoding = "TRANSCODING"
	PhasePackaging   = "PACKAGING"
	PhaseUploading   = "UPLOADING"
)

// Job is one transcoding request and how far it got.
type Job struct {
	ID       string   `json:"id"`
	Pipeline string   `json:"pipeline"`
	Input    string   `json:"input"`
	Presets  []string `json:"presets"`
	// Output is the key prefix the outputs are published under.
	Output   string `json:"output"`
	State    string `json:"state"`
	Phase    string `json:"phase,omitempty"`
	Percent  int    `json:"percent"`
	Error    string `json:"error,omitempty"`
	Attempts int    `json:"attempts"`
	// QueueID is the job's row in the durable queue.
	QueueID   int64     `json:"queueId"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
	Finished  time.Time `json:"finished,omitzero"`
	Log       string    `json:"log,omitempty"`
	Probe     *Probe    `json:"probe,omitempty"`
	Outputs   []string  `json:"outputs,omitempty"`
	inputETag string
}

// Terminal reports whether the job will not change any more.
func (j Job) Terminal() bool {
	return j.State == StateComplete || j.State == StateError || j.State == StateCanceled
}

// Pipeline is where jobs take their input from and where they put outputs.
type Pipeline = resource.PipelineSpec

// Asset is a finished job's catalogue entry.
type Asset struct {
	ID         string          `json:"id"`
	Pipeline   string          `json:"pipeline"`
	Input      string          `json:"input"`
	Duration   float64         `json:"durationSeconds"`
	Probe      *Probe          `json:"probe,omitempty"`
	Renditions []RenditionInfo `json:"renditions"`
	HLS        string          `json:"hls,omitempty"`
	DASH       string          `json:"dash,omitempty"`
	Thumbnails []string        `json:"thumbnails,omitempty"`
	Sprite     string          `json:"sprite,omitempty"`
	// SpriteTrack is the WebVTT track that maps each interval of the
	// video to its tile of Sprite, for previews on a seek bar.
	SpriteTrack string    `json:"spriteTrack,omitempty"`
	Created     time.Time `json:"created"`
}

// RenditionInfo is one published rendition.
type RenditionInfo struct {
	Preset  string `json:"preset"`
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Width   int    `json:"width,omitempty"`
	Height  int    `json:"height,omitempty"`
	Bitrate int64  `json:"bitrate,omitempty"`
	// Key is the rendition's playlist or file.
	Key string `json:"key"`
}
