// Package apiclient is a Go client of Sluice's REST API, generated from
// api/openapi.yaml with oapi-codegen (the *.gen.go files; do not edit
// them). Regenerate it after changing the document:
//
//	go generate ./internal/apiclient
//
// The code is generated into three files, each kept under 1 MiB, by one
// oapi-codegen configuration each: types.gen.go holds the types of the
// document (oapi-codegen.types.yaml), client.gen.go the plain Client and
// its request builders (oapi-codegen.client.yaml), responses.gen.go
// ClientWithResponses with its typed responses and their parsers
// (oapi-codegen.responses.yaml). The two client configurations each
// replace the other's template with a note, so every declaration is
// generated once.
//
// A test fails while the committed code is not what the document
// generates, or while a generated file reaches 1 MiB (then split it
// further). NewClientWithResponses gives typed answers: JSON200 and the
// like for success, ApplicationproblemJSON404 and the like for the problem
// documents of errors. On a server that has a token, changes need a token
// whose role allows them (a RequestEditorFn that sets Authorization: the
// server's --token, or a named token) and Content-Type: application/json
// even without a body, which the generated methods send.
package apiclient

//go:generate go tool oapi-codegen -config oapi-codegen.types.yaml -o types.gen.go ../../api/openapi.yaml
//go:generate go tool oapi-codegen -config oapi-codegen.client.yaml -o client.gen.go ../../api/openapi.yaml
//go:generate go tool oapi-codegen -config oapi-codegen.responses.yaml -o responses.gen.go ../../api/openapi.yaml
