// Package apiclient is a Go client of Sluice's REST API, generated from
// api/openapi.yaml with oapi-codegen (client.gen.go; do not edit it).
// Regenerate it after changing the document:
//
//	go generate ./internal/apiclient
//
// A test fails while the committed code is not what the document
// generates. NewClientWithResponses gives typed answers: JSON200 and the
// like for success, ApplicationproblemJSON404 and the like for the problem
// documents of errors. On a server that has a token, changes need a token
// whose role allows them (a RequestEditorFn that sets Authorization: the
// server's --token, or a named token) and Content-Type: application/json
// even without a body, which the generated methods send.
package apiclient

//go:generate go tool oapi-codegen -generate types,client -package apiclient -o client.gen.go ../../api/openapi.yaml
