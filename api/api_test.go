package api

import (
	"context"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// The document is valid OpenAPI, every $ref resolves, and its examples fit
// their schemas.
func TestOpenAPI_Validates(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPI)
	if err != nil {
		t.Fatalf("load openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
}
