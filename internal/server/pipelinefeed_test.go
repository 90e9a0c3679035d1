package server

import (
	"net/http"
	"strings"
	"testing"
)

// A single server has no peers: the feed of a pipeline is refused, saying
// why, rather than answered as an unknown page.
func TestPipelineFeedIsRefusedOutsideACluster(t *testing.T) {
	srv := serveHTTP(t, Config{})
	code, answer := request(t, srv, "GET", "", "/internal/v1/channels/news/pipelines/0/feed", "")
	if code != http.StatusForbidden || !strings.Contains(answer, "only nodes of a cluster may read a pipeline's feed") {
		t.Errorf("the feed on a single server: %d %s, want 403 saying only nodes of a cluster may read it", code, answer)
	}
}
