package controlplane

import (
	"github.com/sluice-video/sluice/internal/api"
	"github.com/sluice-video/sluice/internal/stack"
)

// The plane is what the API and the stack engine drive, distributions
// and on-demand presets and pipelines included.
var (
	_ api.Manager               = Plane{}
	_ stack.DistributionManager = Plane{}
	_ stack.VODManager          = Plane{}
)
