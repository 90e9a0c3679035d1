package vod

import (
	"fmt"
	"time"
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
type Pipeline struct {
	Name string `json:"name" yaml:"name"`
	// Input is a folder or s3:// bucket and prefix; Watch submits a job for
	// every new object there whose name ends with one of Suffixes.
	Input    string   `json:"input" yaml:"input"`
	Watch    bool     `json:"watch" yaml:"watch"`
	Suffixes []string `json:"suffixes,omitempty" yaml:"suffixes"`
	// Output is a folder or s3:// bucket and prefix.
	Output  string   `json:"output" yaml:"output"`
	Presets []string `json:"presets" yaml:"presets"`
	// Notify names a webhook URL told of every state change, besides the
	// events on the event bus.
	Notify string `json:"notify,omitempty" yaml:"notify"`
	// Concurrency caps how many of this pipeline's jobs one node runs at
	// once (default: the node's worker count).
	Concurrency int `json:"concurrency,omitempty" yaml:"concurrency"`
}

// Validate checks a pipeline, naming the field at fault.
func (p Pipeline) Validate() error {
	if !nameRE.MatchString(p.Name) {
		return fmt.Errorf("name %q: use 1-63 lower-case letters, digits, '.', '_' or '-'", p.Name)
	}
	if p.Input == "" {
		return fmt.Errorf("input: a folder or s3:// location is required")
	}
	if p.Output == "" {
		return fmt.Errorf("output: a folder or s3:// location is required")
	}
	if len(p.Presets) == 0 {
		return fmt.Errorf("presets: name at least one preset")
	}
	if p.Concurrency < 0 {
		return fmt.Errorf("concurrency %d: want 0 or more", p.Concurrency)
	}
	return nil
}

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
	Created    time.Time       `json:"created"`
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
