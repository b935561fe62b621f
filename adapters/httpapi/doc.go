// Package httpapi is the REST transport of the reference server: chi for routing, huma v2 for
// typed operations, input validation and the generated OpenAPI 3.1 document, and the
// middleware every request passes through (request id, panic recovery, JSON access log,
// Prometheus metrics, body size limit, bearer authentication).
//
// It is the only package that knows HTTP. Every error response is an RFC 9457 problem
// (application/problem+json) with the extension members code and request_id, and errors[]
// for validation failures. Domain errors are mapped from their eusaas.Kind; a 500 never
// carries internals.
//
// Each module adds one file with a Register<Module>(s, ...) function built on Register,
// Server.Principal, Server.Operator and Server.TenantAccess.
package httpapi
