package billing

import (
	"context"
	"time"

	"github.com/eusaas/eusaas/billing/vat"
)

// VIESEvidence is VIES's answer about one VAT id, kept as proof of the check.
type VIESEvidence struct {
	Valid             bool
	Name              string
	Address           string
	RequestDate       time.Time // VIES's requestDate
	RequestIdentifier string    // consultation number (when the seller's id was sent)
	CheckedAt         time.Time
	Raw               string // the response body as received
}

// VATChecker verifies VAT ids (VIES). An error of kind Unavailable means no answer could be
// had; the id stays unverified.
type VATChecker interface {
	// requester is the seller's own VAT id (empty when not configured): with it VIES
	// returns a consultation number, the evidence tax authorities accept.
	Check(ctx context.Context, id vat.ID, requester string) (VIESEvidence, error)
}

// VATRate is a dated standard rate (an alias, so adapters need not import billing/vat).
type VATRate = vat.Rate
