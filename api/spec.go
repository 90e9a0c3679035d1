// Package api holds the OpenAPI description of Sluice's REST API, embedded
// so the server can serve it and tests can hold the router to it.
package api

import _ "embed"

// OpenAPI is the API's OpenAPI 3 description (openapi.yaml).
//
//go:embed openapi.yaml
var OpenAPI []byte
