package controlplane

import "github.com/sluice-video/sluice/internal/api"

// The plane is what the API drives besides the kinds' verbs.
var _ api.Manager = Plane{}
