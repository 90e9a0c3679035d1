package resource_test

import (
	"bytes"
	"testing"

	"github.com/sluice-video/sluice/api"
	"github.com/sluice-video/sluice/internal/resource"
)

func TestValidName(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"news": true, "a": true, "ch-1": true, "0": true, "": false, "-a": false, "a-": false, "News": false,
		"a_b": false, "a.b": false, string(bytes.Repeat([]byte("a"), 63)): true, string(bytes.Repeat([]byte("a"), 64)): false,
	} {
		if got := resource.ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", name, got, want)
		}
	}
	// The API description states the same pattern.
	if n := bytes.Count(api.OpenAPI, []byte(`pattern: "`+resource.NamePattern+`"`)); n < 2 {
		t.Errorf("openapi.yaml states the name pattern %d times; want it on Name and StackName", n)
	}
}
