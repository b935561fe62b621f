package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

var updateOpenAPI = flag.Bool("update-openapi", false, "rewrite adapters/httpapi/clientgen/openapi.json from the served document")

// goldenOpenAPI is the served document the client generators are run on
// (adapters/httpapi/clientgen, a module of its own so their dependencies stay out of this
// one).
var goldenOpenAPI = filepath.Join("..", "..", "adapters", "httpapi", "clientgen", "openapi.json")

// TestServedOpenAPIMatchesGeneratorInput fails when the served document drifts from the one
// the generator test compiles clients from: run go test ./cmd/eusaas -run
// TestServedOpenAPIMatchesGeneratorInput -update-openapi, then the clientgen test.
func TestServedOpenAPIMatchesGeneratorInput(t *testing.T) {
	c := startApp(t, map[string]string{"APP_BOOTSTRAP_ADMIN_EMAIL": opEmail, "APP_BOOTSTRAP_ADMIN_PASSWORD": opPassword})
	served := c.expect(200, c.do("GET", "/openapi.json", "", nil)).body
	var doc map[string]any
	require.NoError(t, json.Unmarshal(served, &doc))
	doc["info"].(map[string]any)["version"] = "dev" // the build's version is not part of the contract
	got, err := json.MarshalIndent(doc, "", "  ")
	require.NoError(t, err)
	got = append(got, '\n')
	if *updateOpenAPI {
		require.NoError(t, os.WriteFile(goldenOpenAPI, got, 0o644))
	}
	want, err := os.ReadFile(goldenOpenAPI)
	require.NoError(t, err)
	if !bytes.Equal(want, got) {
		t.Fatalf("the served OpenAPI document differs from %s: run this test with -update-openapi, then go test in adapters/httpapi/clientgen", goldenOpenAPI)
	}
}
