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
	Check(ctx context.Context, id vat.ID) (VIESEvidence, error)
}

// VATRate is a dated standard rate (an alias, so adapters need not import billing/vat).
type VATRate = vat.Rate
