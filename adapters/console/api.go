package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// apiResult is one answer of the REST API to an in-process call.
type apiResult struct {
	Status int
	Header http.Header
	Body   []byte
}

// OK reports a 2xx answer.
func (r apiResult) OK() bool { return r.Status >= 200 && r.Status < 300 }

// Decode unmarshals the JSON body into v.
func (r apiResult) Decode(v any) error { return json.Unmarshal(r.Body, v) }

// Problem is the RFC 9457 problem of a non-2xx answer, as the console shows it.
func (r apiResult) Problem() apiProblem {
	var p apiProblem
	if json.Unmarshal(r.Body, &p) != nil || p.Title == "" {
		p.Title = http.StatusText(r.Status)
	}
	p.Status = r.Status
	return p
}

type apiProblem struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Errors []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
	} `json:"errors"`
}

// Message is the problem in one line for a flash message.
func (p apiProblem) Message() string {
	var b strings.Builder
	b.WriteString(p.Title)
	if p.Detail != "" && p.Detail != p.Title {
		b.WriteString(": ")
		b.WriteString(p.Detail)
	}
	for _, e := range p.Errors {
		fmt.Fprintf(&b, " (%s: %s)", strings.TrimPrefix(e.Location, "body."), e.Message)
	}
	return b.String()
}

// recorder is the http.ResponseWriter of an in-process call.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }
func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *recorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(p)
}

// call sends one request to the REST API handler in process, as the browser's request would
// reach it: the same client address, forwarding headers and user agent (so rate limits,
// brute-force counters, sessions and audit entries see the real client), and the session's
// access token as Bearer. Every authorization decision is the API's own: the console holds
// no second copy of the rules.
//
// The inner request gets a fresh context that only shares cancellation with the browser's
// request: the outer request's values (the router's route context, its request info) belong
// to the console's routing and would confuse the API router, which treats an existing route
// context as a mount point.
func (c *Console) call(r *http.Request, token, method, path string, body any, hdr ...string) (apiResult, error) {
	var rd io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return apiResult{}, err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stop := context.AfterFunc(r.Context(), cancel)
	defer stop()
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return apiResult{}, err
	}
	req.RemoteAddr = r.RemoteAddr
	req.Host = r.Host
	req.TLS = r.TLS
	for _, h := range []string{"X-Forwarded-For", "Forwarded", "User-Agent", "X-Request-Id"} {
		if v := r.Header.Values(h); len(v) > 0 {
			req.Header[h] = v
		}
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] != "" {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	w := &recorder{header: http.Header{}}
	c.api.ServeHTTP(w, req)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return apiResult{Status: w.status, Header: w.header, Body: w.body.Bytes()}, nil
}
