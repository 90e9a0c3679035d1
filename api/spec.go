// Package api holds the OpenAPI description of Sluice's REST API, embedded
// so the server can serve it and tests can hold the router to it.
package api

import (
	_ "embed"
	"encoding/json"
	"fmt"

	"gopkg.in/yaml.v3"
)

// OpenAPI is the API's OpenAPI 3 description (openapi.yaml).
//
//go:embed openapi.yaml
var OpenAPI []byte

// JSON returns the description as JSON, converted from the YAML: the same
// document, for tools that read only JSON.
func JSON() ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(OpenAPI, &doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	v, err := jsonValue(doc, "")
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	return json.MarshalIndent(v, "", "  ")
}

// jsonValue turns a decoded YAML value into one encoding/json can write:
// mappings with keys that are not strings (200:, 2xx: read as numbers or
// strings alike) get string keys.
func jsonValue(v any, at string) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			c, err := jsonValue(e, at+"/"+k)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			key := fmt.Sprint(k)
			c, err := jsonValue(e, at+"/"+key)
			if err != nil {
				return nil, err
			}
			out[key] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			c, err := jsonValue(e, fmt.Sprintf("%s/%d", at, i))
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case nil, string, bool, int, int64, uint64, float64:
		return v, nil
	}
	return nil, fmt.Errorf("%s: a %T has no JSON form", at, v)
}
