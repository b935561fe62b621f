package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/eusaas/eusaas"
)

// ProblemContentType is the media type of every error response.
const ProblemContentType = "application/problem+json"

// Problem is an RFC 9457 problem document with our extension members.
type Problem struct {
	Type      string                  `json:"type" doc:"URI identifying the problem type"`
	Title     string                  `json:"title" doc:"Short summary of the problem type"`
	Status    int                     `json:"status" doc:"HTTP status code"`
	Detail    string                  `json:"detail,omitempty" doc:"Explanation of this occurrence"`
	Instance  string                  `json:"instance,omitempty" doc:"The request path of this occurrence"`
	Code      string                  `json:"code" doc:"Machine-readable error code"`
	RequestID string                  `json:"request_id,omitempty" doc:"Request id, also in the X-Request-ID header"`
	Errors    []eusaas.FieldViolation `json:"errors,omitempty" doc:"Field violations, for validation failures"`

	headers http.Header
}

func (p *Problem) Error() string { return p.Detail }

// GetStatus implements huma.StatusError.
func (p *Problem) GetStatus() int { return p.Status }

// ContentType implements huma.ContentTypeFilter: problems are always problem+json.
func (p *Problem) ContentType(string) string { return ProblemContentType }

// GetHeaders implements huma.HeadersError (Retry-After, WWW-Authenticate, ...).
func (p *Problem) GetHeaders() http.Header {
	if p.headers == nil {
		p.headers = http.Header{}
	}
	return p.headers
}

// WithHeader sets a response header sent with the problem.
func (p *Problem) WithHeader(k, v string) *Problem {
	p.GetHeaders().Set(k, v)
	return p
}

// ProblemTypeBase prefixes every problem type; the code completes it.
const ProblemTypeBase = "urn:eusaas:problem:"

// statusCodes maps HTTP statuses huma or the router produce to our codes.
var statusCodes = map[int]string{
	http.StatusBadRequest:            "bad_request",
	http.StatusUnauthorized:          "unauthenticated",
	http.StatusForbidden:             "permission_denied",
	http.StatusNotFound:              "not_found",
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusNotAcceptable:         "not_acceptable",
	http.StatusConflict:              "conflict",
	http.StatusPreconditionFailed:    "precondition_failed",
	http.StatusRequestEntityTooLarge: "request_too_large",
	http.StatusUnsupportedMediaType:  "unsupported_media_type",
	http.StatusUnprocessableEntity:   "validation_failed",
	http.StatusTooManyRequests:       "resource_exhausted",
	http.StatusInternalServerError:   "internal",
	http.StatusServiceUnavailable:    "unavailable",
	http.StatusGatewayTimeout:        "deadline_exceeded",
}

// kindStatus maps error kinds to HTTP statuses.
var kindStatus = map[eusaas.Kind]int{
	eusaas.InvalidArgument:    http.StatusUnprocessableEntity,
	eusaas.NotFound:           http.StatusNotFound,
	eusaas.AlreadyExists:      http.StatusConflict,
	eusaas.FailedPrecondition: http.StatusConflict,
	eusaas.Aborted:            http.StatusConflict,
	eusaas.Unauthenticated:    http.StatusUnauthorized,
	eusaas.PermissionDenied:   http.StatusForbidden,
	eusaas.ResourceExhausted:  http.StatusTooManyRequests,
	eusaas.Unavailable:        http.StatusServiceUnavailable,
	eusaas.DeadlineExceeded:   http.StatusGatewayTimeout,
	eusaas.Canceled:           499, // client went away; nobody reads it, but logs and metrics do
	eusaas.Internal:           http.StatusInternalServerError,
}

// ErrPreconditionFailed is returned when an If-Match header does not match the resource's
// current ETag: the root sentinel, which ProblemFor answers with 412 (a FailedPrecondition
// kind, for which HTTP has a dedicated status).
var ErrPreconditionFailed = eusaas.ErrPreconditionFailed

// RetryAfter attaches a Retry-After hint to an error; the problem response carries the header.
type RetryAfter struct {
	Err   error
	After time.Duration
}

func (r *RetryAfter) Error() string { return r.Err.Error() }
func (r *RetryAfter) Unwrap() error { return r.Err }

// unavailableRetrySeconds is the Retry-After of a 503 whose error names no better time.
const unavailableRetrySeconds = 2

// newProblem builds a problem for a status with request context.
func newProblem(ctx context.Context, status int, code, detail string) *Problem {
	if code == "" {
		code = statusCodes[status]
		if code == "" {
			code = "error"
		}
	}
	title := http.StatusText(status)
	if title == "" {
		title = "Error"
	}
	p := &Problem{Type: ProblemTypeBase + code, Title: title, Status: status, Detail: detail, Code: code}
	if ri := requestInfoFrom(ctx); ri != nil {
		p.RequestID = ri.requestID
		p.Instance = ri.path
	}
	return p
}

// ProblemFor converts any error into a problem. Client-safe messages of eusaas errors become
// the detail; anything else is an internal error whose text is logged, never shown.
func ProblemFor(ctx context.Context, err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	kind := eusaas.KindOf(err)
	status, ok := kindStatus[kind]
	if !ok {
		status = http.StatusInternalServerError
	}
	code := eusaas.CodeOf(err)
	if errors.Is(err, eusaas.ErrPreconditionFailed) {
		status = http.StatusPreconditionFailed
	}
	detail := eusaas.MessageOf(err)
	if status >= 500 {
		if ri := requestInfoFrom(ctx); ri != nil {
			ri.internalErr = err
		}
		if kind == eusaas.Internal {
			detail = "internal error"
			code = "internal"
		}
	}
	if detail == "" {
		detail = http.StatusText(status)
	}
	p = newProblem(ctx, status, code, detail)
	p.Errors = eusaas.FieldsOf(err)
	var ra *RetryAfter
	if errors.As(err, &ra) {
		secs := int(ra.After.Round(time.Second) / time.Second)
		if secs < 1 {
			secs = 1
		}
		p.WithHeader("Retry-After", strconv.Itoa(secs))
	} else if status == http.StatusServiceUnavailable {
		// An unavailable dependency (a database restarting, a dropped connection) usually
		// returns within seconds; say so, so clients back off instead of failing hard.
		p.WithHeader("Retry-After", strconv.Itoa(unavailableRetrySeconds))
	}
	if status == http.StatusUnauthorized {
		p.WithHeader("WWW-Authenticate", `Bearer realm="eusaas"`)
	}
	return p
}

// humaProblem replaces huma's error constructor so its own errors (validation, malformed
// JSON, body too large) are our problems too. Offending input values are never echoed:
// they may be passwords or tokens.
func humaProblem(hctx huma.Context, status int, msg string, errs ...error) huma.StatusError {
	var ctx context.Context = context.Background()
	if hctx != nil {
		ctx = hctx.Context()
	}
	// huma answers 400 when the body cannot be decoded (malformed JSON, a number out of
	// range, a wrong type). To a client that is the same failure as a schema violation: the
	// input is unusable, here is where. One status for both keeps clients simple.
	if status == http.StatusBadRequest {
		status = http.StatusUnprocessableEntity
	}
	p := newProblem(ctx, status, "", msg)
	for _, e := range errs {
		if e == nil {
			continue
		}
		var d huma.ErrorDetailer
		if errors.As(e, &d) {
			det := d.ErrorDetail()
			loc, msg := det.Location, det.Message
			if l, m, ok := strings.Cut(msg, ": "); ok && loc == "body" && strings.HasPrefix(l, "body") && !strings.ContainsAny(l, " \"") {
				loc, msg = l, m // a strictUnmarshal error that knows the field
			}
			p.Errors = append(p.Errors, eusaas.FieldViolation{Location: loc, Message: msg})
			continue
		}
		p.Errors = append(p.Errors, eusaas.FieldViolation{Message: e.Error()})
	}
	if status == http.StatusUnprocessableEntity && p.Detail == "" {
		p.Detail = "request validation failed"
	}
	if status >= 500 {
		p.Detail = "internal error"
		p.Errors = nil
	}
	return p
}

var installHumaErrors sync.Once

// useProblems installs humaProblem. huma only offers a package-level hook for its error
// type; every Server installs the same function, so the global is set once and never varies.
func useProblems() {
	installHumaErrors.Do(func() {
		huma.NewErrorWithContext = humaProblem
		huma.NewError = func(status int, msg string, errs ...error) huma.StatusError {
			return humaProblem(nil, status, msg, errs...)
		}
	})
}
