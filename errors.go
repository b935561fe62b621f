package eusaas

import (
	"context"
	"errors"
	"fmt"
)

// Kind classifies an error for callers that must react to it (the HTTP layer maps kinds to
// status codes). The names follow gRPC's status codes because they are well understood and
// transport neutral.
type Kind int

// Error kinds. Internal is the zero value so an unclassified error is never mistaken for a
// client error.
const (
	Internal Kind = iota
	InvalidArgument
	NotFound
	AlreadyExists
	FailedPrecondition
	Aborted
	Unauthenticated
	PermissionDenied
	ResourceExhausted
	Unavailable
	Canceled
	DeadlineExceeded
)

var kindNames = [...]string{
	Internal:           "internal",
	InvalidArgument:    "invalid_argument",
	NotFound:           "not_found",
	AlreadyExists:      "already_exists",
	FailedPrecondition: "failed_precondition",
	Aborted:            "aborted",
	Unauthenticated:    "unauthenticated",
	PermissionDenied:   "permission_denied",
	ResourceExhausted:  "resource_exhausted",
	Unavailable:        "unavailable",
	Canceled:           "canceled",
	DeadlineExceeded:   "deadline_exceeded",
}

// String returns the snake_case name used as the problem "code" in HTTP responses.
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Error is an error with a kind, a message safe to show to the caller and an optional
// wrapped cause that is never shown (it may hold driver details).
type Error struct {
	Kind    Kind
	Code    string // optional machine-readable code more specific than Kind, e.g. "invalid_transition"
	Message string // safe for clients
	Fields  []FieldViolation
	Err     error // cause; for logs only
}

// FieldViolation names one invalid input. Location is a JSON-pointer-like path such as
// "body.slug" or "query.page".
type FieldViolation struct {
	Location string `json:"location"`
	Message  string `json:"message"`
}

func (e *Error) Error() string {
	if e.Err != nil {
		if e.Message == "" {
			return e.Err.Error()
		}
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Is lets a sentinel *Error match errors built from it with Wrap or With: two *Error values
// match when they share kind, code and message. Sentinels therefore need a Code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok || t.Code == "" {
		return false
	}
	return e.Kind == t.Kind && e.Code == t.Code
}

// E builds an error of the given kind with a client-safe message.
func E(kind Kind, msg string) *Error { return &Error{Kind: kind, Message: msg} }

// Errorf builds an error of the given kind with a formatted client-safe message. %w is
// honoured for the cause.
func Errorf(kind Kind, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Kind: kind, Message: err.Error(), Err: errors.Unwrap(err)}
}

// Sentinel declares a module error with a stable code, e.g.
//
//	var ErrInvalidTransition = eusaas.Sentinel(eusaas.FailedPrecondition, "invalid_transition", "invalid status transition")
func Sentinel(kind Kind, code, msg string) *Error {
	return &Error{Kind: kind, Code: code, Message: msg}
}

// With returns a copy of the sentinel with a more specific message; errors.Is still matches
// the sentinel.
func (e *Error) With(msg string) *Error {
	c := *e
	c.Message = msg
	return &c
}

// Withf is With with formatting.
func (e *Error) Withf(format string, args ...any) *Error {
	return e.With(fmt.Sprintf(format, args...))
}

// Wrap returns a copy of the sentinel carrying cause; the cause is kept for logs only.
func (e *Error) Wrap(cause error) *Error {
	c := *e
	c.Err = cause
	return &c
}

// Invalid builds an InvalidArgument error listing every field violation.
func Invalid(msg string, fields ...FieldViolation) *Error {
	return &Error{Kind: InvalidArgument, Code: "validation_failed", Message: msg, Fields: fields}
}

// Violations accumulates field violations; Err returns nil when there are none.
type Violations []FieldViolation

// Add records a violation.
func (v *Violations) Add(location, message string) {
	*v = append(*v, FieldViolation{Location: location, Message: message})
}

// Err returns an InvalidArgument error holding the violations, or nil.
func (v Violations) Err() error {
	if len(v) == 0 {
		return nil
	}
	return Invalid("request validation failed", v...)
}

// KindOf reports the kind of err: the kind of the first *Error in its chain, Canceled or
// DeadlineExceeded for context errors, else Internal. KindOf(nil) is Internal too, callers
// check for nil first.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	switch {
	case errors.Is(err, context.Canceled):
		return Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return DeadlineExceeded
	}
	return Internal
}

// CodeOf reports the most specific machine-readable code of err: the Code of the first
// *Error that has one, else the kind name.
func CodeOf(err error) string {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if ee, ok := e.(*Error); ok && ee.Code != "" {
			return ee.Code
		}
	}
	return KindOf(err).String()
}

// MessageOf reports the client-safe message of err, or "" when err carries none (an
// Internal error from a driver, whose text must not reach clients).
func MessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return ""
}

// FieldsOf reports the field violations carried by err.
func FieldsOf(err error) []FieldViolation {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

// Errors shared on purpose by several modules: one code, one meaning, wherever it comes from.
var (
	// ErrTenantNotFound: no tenant with that id or slug (or one the caller may not see).
	ErrTenantNotFound = Sentinel(NotFound, "tenant_not_found", "tenant not found")
	// ErrPreconditionFailed: a conditional write (If-Match) saw another version than the
	// caller read. The HTTP layer answers it with 412, matched with errors.Is, never by code.
	ErrPreconditionFailed = Sentinel(FailedPrecondition, "precondition_failed",
		"the resource has changed since it was read (If-Match does not match its ETag)")
)
