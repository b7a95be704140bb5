// Package api is orderd's HTTP API description: openapi.yaml, an OpenAPI
// 3.0 document of every route, status and body. It is embedded so that
// orderd serves (GET /openapi.yaml) the document of the very build that
// answers, and it imports nothing, so any package may serve or test it.
package api

import _ "embed"

// OpenAPI is openapi.yaml. daemon's TestOpenAPI_* hold orderd's real
// answers to it, and server's tests hold its paths to the router's.
//
//go:embed openapi.yaml
var OpenAPI []byte
