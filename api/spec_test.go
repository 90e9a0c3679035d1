package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"gopkg.in/yaml.v3"

	spec "github.com/sluice-video/sluice/api"
)

// checkSpec returns every way an OpenAPI document falls short of what
// Sluice's clients rely on: it must load and validate (examples included),
// every operation must document its error answers as problem documents,
// every schema must carry an example, and info must name a licence.
func checkSpec(data []byte) []error {
	var errs []error
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return []error{err}
	}
	errs = append(errs, emptyKeys(&root, "")...)
	doc, err := openapi3.NewLoader().LoadFromData(data)
	if err != nil {
		return append(errs, fmt.Errorf("load: %w", err))
	}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		errs = append(errs, fmt.Errorf("validate: %w", err))
	}
	if doc.Info == nil || doc.Info.License == nil || doc.Info.License.Name == "" {
		errs = append(errs, fmt.Errorf("info has no license"))
	}
	problemRef := "#/components/schemas/Problem"
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path
			if op.OperationID == "" {
				errs = append(errs, fmt.Errorf("%s has no operationId", name))
			}
			clientErrors := 0
			for code, resp := range op.Responses.Map() {
				if len(code) != 3 || (code[0] != '4' && code[0] != '5') {
					continue
				}
				if code[0] == '4' {
					clientErrors++
				}
				if resp.Value == nil || len(resp.Value.Content) != 1 || resp.Value.Content.Get("application/problem+json") == nil {
					errs = append(errs, fmt.Errorf("%s: the %s answer is not documented as application/problem+json alone", name, code))
					continue
				}
				if s := resp.Value.Content.Get("application/problem+json").Schema; s == nil || s.Ref != problemRef {
					errs = append(errs, fmt.Errorf("%s: the %s answer's schema is not %s", name, code, problemRef))
				}
			}
			if clientErrors == 0 {
				errs = append(errs, fmt.Errorf("%s documents no 4xx answer", name))
			}
		}
	}
	for name, s := range doc.Components.Schemas {
		if s.Value == nil || (s.Value.Example == nil && len(s.Value.Examples) == 0) {
			errs = append(errs, fmt.Errorf("schema %s has no example", name))
		}
	}
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
	return errs
}

// emptyKeys finds mapping keys without a value. In a YAML flow mapping
// ({description: a, b}) an unquoted ", " or ": " in a value starts a new
// key, so the schema a generator reads is not the one written; no key of
// an OpenAPI document is meant to be empty.
func emptyKeys(n *yaml.Node, at string) []error {
	var errs []error
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for i, c := range n.Content {
			errs = append(errs, emptyKeys(c, fmt.Sprintf("%s[%d]", at, i))...)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Tag == "!!null" {
				errs = append(errs, fmt.Errorf("line %d: key %q under %s has no value (quote a value that holds \", \" or \": \")", k.Line, k.Value, at))
			}
			errs = append(errs, emptyKeys(v, at+"/"+k.Value)...)
		}
	}
	return errs
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	for _, err := range checkSpec(spec.OpenAPI) {
		t.Error(err)
	}
}

// TestOpenAPICheckCatchesBrokenDocuments makes sure the check above fails
// on the mistakes it exists for.
func TestOpenAPICheckCatchesBrokenDocuments(t *testing.T) {
	cases := []struct{ name, old, new, want string }{
		{
			"an unquoted comma in a flow description",
			`description: "ARCHIVE, instead of rollMinutes"}`, `description: ARCHIVE, instead of rollMinutes}`,
			`key "instead of rollMinutes"`,
		},
		{"an error answer that is not a problem", `"409": {$ref: "#/components/responses/Conflict"}`, `"409": {description: clash}`, "not documented as application/problem+json"},
		{"a schema without an example", "      example: {objects: 80, bytes: 52428800}\n", "", "schema TierUsage has no example"},
		{"an example that does not match", "      example: RUNNING\n", "      example: BOGUS\n", "BOGUS"},
		{"no licence", "    name: UNLICENSED\n", "", "license"},
		{"a dangling reference", `$ref: "#/components/schemas/Plan"}`, `$ref: "#/components/schemas/Plans"}`, "Plans"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !bytes.Contains(spec.OpenAPI, []byte(c.old)) {
				t.Fatalf("the document no longer holds %q; update this case", c.old)
			}
			broken := bytes.Replace(spec.OpenAPI, []byte(c.old), []byte(c.new), 1)
			errs := checkSpec(broken)
			var all []string
			for _, err := range errs {
				all = append(all, err.Error())
			}
			if !strings.Contains(strings.Join(all, "\n"), c.want) {
				t.Errorf("the check did not report %q; it said:\n%s", c.want, strings.Join(all, "\n"))
			}
		})
	}
}

// TestJSONIsTheSameDocument holds /api/v1/openapi.json to the YAML.
func TestJSONIsTheSameDocument(t *testing.T) {
	js, err := spec.JSON()
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := openapi3.NewLoader().LoadFromData(js)
	if err != nil {
		t.Fatal(err)
	}
	fromYAML, err := openapi3.NewLoader().LoadFromData(spec.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(fromJSON)
	b, _ := json.Marshal(fromYAML)
	if !bytes.Equal(a, b) {
		t.Error("openapi.json and openapi.yaml load as different documents")
	}
	if !json.Valid(js) {
		t.Error("openapi.json is not JSON")
	}
}
