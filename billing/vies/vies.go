// Package vies verifies VAT ids with the European Commission's VIES service through its REST
// API (POST .../check-vat-number). It implements billing.VATChecker with the standard library
// only, so the root module stays light.
package vies

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/billing/vat"
)

// DefaultURL is the Commission's endpoint (APP_VIES_URL overrides it).
const DefaultURL = "https://ec.europa.eu/taxation_customs/vies/rest-api/check-vat-number"

// Client calls VIES.
type Client struct {
	URL   string
	HTTP  *http.Client
	Clock eusaas.Clock
}

var _ billing.VATChecker = (*Client)(nil)

// New returns a client for url (DefaultURL when empty) with a 10 s timeout: VIES is slow at
// times, and a check that does not answer leaves the id unverified rather than blocking.
func New(url string) *Client {
	if url == "" {
		url = DefaultURL
	}
	return &Client{URL: url, HTTP: &http.Client{Timeout: 10 * time.Second}, Clock: eusaas.SystemClock}
}

type request struct {
	CountryCode              string `json:"countryCode"`
	VATNumber                string `json:"vatNumber"`
	RequesterMemberStateCode string `json:"requesterMemberStateCode,omitempty"`
	RequesterNumber          string `json:"requesterNumber,omitempty"`
}

type response struct {
	CountryCode       string `json:"countryCode"`
	VATNumber         string `json:"vatNumber"`
	RequestDate       string `json:"requestDate"`
	Valid             *bool  `json:"valid"`
	RequestIdentifier string `json:"requestIdentifier"`
	Name              string `json:"name"`
	Address           string `json:"address"`
	ActionSucceed     *bool  `json:"actionSucceed"`
	ErrorWrappers     []struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	} `json:"errorWrappers"`
}

// Check asks VIES about id. A definite answer (valid or not) is returned as evidence; when
// VIES or the member state's service cannot answer the error is Unavailable, so the caller
// keeps the id unverified and re-checks later.
func (c *Client) Check(ctx context.Context, id vat.ID, requester string) (billing.VIESEvidence, error) {
	req := request{CountryCode: id.Prefix, VATNumber: id.Number}
	if r, _, ok := vat.ParseID(requester); ok {
		req.RequesterMemberStateCode, req.RequesterNumber = r.Prefix, r.Number
	}
	body, _ := json.Marshal(req)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return billing.VIESEvidence{}, eusaas.Errorf(eusaas.Internal, "vies: %v", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("Accept", "application/json")
	resp, err := c.HTTP.Do(hr)
	if err != nil {
		return billing.VIESEvidence{}, unavailable(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return billing.VIESEvidence{}, unavailable(err)
	}
	var r response
	if err := json.Unmarshal(raw, &r); err != nil {
		return billing.VIESEvidence{}, unavailable(fmt.Errorf("status %d, undecodable body: %w", resp.StatusCode, err))
	}
	if len(r.ErrorWrappers) > 0 || (r.ActionSucceed != nil && !*r.ActionSucceed) || r.Valid == nil {
		code := "no valid flag"
		if len(r.ErrorWrappers) > 0 {
			code = r.ErrorWrappers[0].Error
		}
		// INVALID_INPUT is VIES saying the number cannot exist: a definite "not valid".
		if code == "INVALID_INPUT" {
			return billing.VIESEvidence{Valid: false, CheckedAt: c.Clock.Now().UTC(), Raw: string(raw)}, nil
		}
		return billing.VIESEvidence{}, unavailable(fmt.Errorf("status %d: %s", resp.StatusCode, code))
	}
	if resp.StatusCode != http.StatusOK {
		return billing.VIESEvidence{}, unavailable(fmt.Errorf("status %d", resp.StatusCode))
	}
	ev := billing.VIESEvidence{
		Valid: *r.Valid, Name: clean(r.Name), Address: clean(r.Address),
		RequestIdentifier: r.RequestIdentifier, CheckedAt: c.Clock.Now().UTC(), Raw: string(raw),
	}
	if t, err := time.Parse(time.RFC3339, r.RequestDate); err == nil {
		ev.RequestDate = t.UTC()
	} else if t, err := time.Parse("2006-01-02Z07:00", r.RequestDate); err == nil {
		ev.RequestDate = t.UTC()
	}
	return ev, nil
}

// clean drops VIES's "---" placeholder (states that do not disclose names).
func clean(s string) string {
	s = strings.TrimSpace(s)
	if s == "---" {
		return ""
	}
	return s
}

func unavailable(err error) error {
	return &eusaas.Error{Kind: eusaas.Unavailable, Code: "vies_unavailable", Message: "VIES could not be reached; the VAT id stays unverified", Err: err}
}
