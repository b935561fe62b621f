// Package clientgen checks that mainstream generators build working clients from the
// served OpenAPI document (openapi.json, kept equal to the served one by
// cmd/eusaas TestServedOpenAPIMatchesGeneratorInput). It is a module of its own so the
// generators' runtime dependencies stay out of the main module.
//
// TestOgenJourney goes further: it generates an ogen client into journey/ogenclient (not
// committed), builds and starts the reference server on PostgreSQL and runs the journey
// package (build tag ogenjourney) over every operation of the document through that client.
// The package only exists while the test runs, so `go mod tidy` in this module needs it
// generated first (`go run github.com/ogen-go/ogen/cmd/ogen@v1.24.0 -package ogenclient
// -target journey/ogenclient -clean openapi.json`).
package clientgen

// The generated clients' runtime libraries: imported here so go.mod keeps them (the
// generated code lives only in the test's temporary directories).
import (
	_ "github.com/getkin/kin-openapi/openapi3"
	_ "github.com/go-faster/errors"
	_ "github.com/go-faster/jx"
	_ "github.com/google/uuid"
	_ "github.com/labstack/echo/v4"
	_ "github.com/oapi-codegen/runtime"
	_ "github.com/oapi-codegen/runtime/types"
	_ "github.com/ogen-go/ogen/conv"
	_ "github.com/ogen-go/ogen/http"
	_ "github.com/ogen-go/ogen/json"
	_ "github.com/ogen-go/ogen/middleware"
	_ "github.com/ogen-go/ogen/ogenerrors"
	_ "github.com/ogen-go/ogen/ogenregex"
	_ "github.com/ogen-go/ogen/otelogen"
	_ "github.com/ogen-go/ogen/uri"
	_ "github.com/ogen-go/ogen/validate"
	_ "github.com/shopspring/decimal"
	_ "go.opentelemetry.io/otel"
	_ "go.opentelemetry.io/otel/attribute"
	_ "go.opentelemetry.io/otel/codes"
	_ "go.opentelemetry.io/otel/metric"
	_ "go.opentelemetry.io/otel/semconv/v1.39.0"
	_ "go.opentelemetry.io/otel/trace"
)
