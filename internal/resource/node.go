package resource

import "time"

// NodeState says whether a node of a cluster is up.
type NodeState string

// Node states: LIVE while its heartbeat is fresh, LOST when its heartbeat
// stopped without a goodbye (a crash, a pause, a lost network), STOPPED
// once it said goodbye at a clean stop.
const (
	NodeLive    NodeState = "LIVE"
	NodeLost    NodeState = "LOST"
	NodeStopped NodeState = "STOPPED"
)

// Node is one `sluice serve` process of a cluster, as its heartbeat row
// and the answering node see it.
type Node struct {
	// ID names the node (--node-id).
	ID string `json:"id"`
	// Advertise is the URL its peers and the other nodes' origins reach
	// it at (--advertise).
	Advertise string `json:"advertise"`
	// MaxChannels is how many channels it takes (--max-channels).
	MaxChannels int       `json:"maxChannels"`
	Version     string    `json:"version"`
	State       NodeState `json:"state"`
	StartedAt   time.Time `json:"startedAt"`
	// LastHeartbeat is its last heartbeat on the database's clock, and
	// HeartbeatAgeSeconds how long before the answer that was, on the same
	// clock.
	LastHeartbeat       time.Time `json:"lastHeartbeat"`
	HeartbeatAgeSeconds float64   `json:"heartbeatAgeSeconds"`
	// Channels are the names of the channels it holds a live lease of,
	// and Load their number.
	Channels []string `json:"channels"`
	Load     int      `json:"load"`
	// Self marks the node that answered.
	Self bool `json:"self,omitempty"`
	// Reachability is whether the answering node reached the node's
	// advertised URL (GET /healthz) at its last check; absent for itself
	// and for nodes not live.
	Reachability *Reachability `json:"reachability,omitempty"`
}

// Reachability is the result of one node's last check of another's
// advertised URL.
type Reachability struct {
	Reachable bool      `json:"reachable"`
	CheckedAt time.Time `json:"checkedAt"`
	// Error says why the check failed.
	Error string `json:"error,omitempty"`
}
