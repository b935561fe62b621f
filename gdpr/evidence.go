package gdpr

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/eusaas/eusaas"
)

// Evidence is the accountability record (Art. 5(2)) of a data-subject request that reached
// COMPLETED or REJECTED: its timeline, what was done with counts, and the erasure
// certificate or export digest. It names the subject by id and the contact only by its
// SHA-256, so the bundle can be kept after the subject's erasure.
type Evidence struct {
	Type          string         `json:"type"` // "DSR_EVIDENCE"
	RequestID     string         `json:"request_id"`
	TenantID      string         `json:"tenant_id"`
	RequestType   DSRType        `json:"request_type"`
	Status        DSRStatus      `json:"status"`
	SubjectID     string         `json:"data_subject_id,omitempty"`
	EmailSHA256   string         `json:"email_sha256,omitempty"`
	ReceivedAt    time.Time      `json:"received_at"`
	DueAt         time.Time      `json:"due_at"`
	ExtendedDueAt *time.Time     `json:"extended_due_at,omitempty"`
	ExtensionNote string         `json:"extension_reason,omitempty"`
	CompletedAt   time.Time      `json:"completed_at"`
	OnTime        bool           `json:"on_time"`
	Identity      *EvidenceID    `json:"identity_verification,omitempty"`
	Rejection     string         `json:"rejection_reason,omitempty"`
	Outcome       string         `json:"outcome,omitempty"`
	Timeline      []DSREvent     `json:"timeline"`
	Counts        map[string]int `json:"counts,omitempty"`
	// Job is the export or erasure request that did the work.
	Job *EvidenceJob `json:"job,omitempty"`
}

// EvidenceID records the identity check.
type EvidenceID struct {
	At     time.Time `json:"at"`
	By     string    `json:"by,omitempty"`
	Method string    `json:"method,omitempty"`
}

// EvidenceJob is the export or erasure behind a request: the erasure's signed certificate
// as issued, or the export archive's SHA-256 (its manifest inside is signed too).
type EvidenceJob struct {
	ID            string             `json:"id"`
	Kind          Kind               `json:"kind"`
	Status        Status             `json:"status"`
	CompletedAt   time.Time          `json:"completed_at,omitzero"`
	Format        Format             `json:"format,omitempty"`
	ArchiveSHA256 string             `json:"archive_sha256,omitempty"`
	Certificate   *SignedCertificate `json:"certificate,omitempty"`
}

// SignedEvidence is an evidence bundle's exact JSON bytes and their Ed25519 signature,
// made over a domain prefix and the bytes so that no certificate, manifest or token
// signature is ever a valid evidence signature (or the other way round).
type SignedEvidence struct {
	Evidence  json.RawMessage `json:"evidence"`
	Algorithm string          `json:"algorithm"`
	Signature string          `json:"signature"`  // base64
	PublicKey string          `json:"public_key"` // base64 Ed25519 public key
}

const evidenceDomain = "eusaas-gdpr-dsr-evidence-v1:"

func signEvidence(key ed25519.PrivateKey, e Evidence) (*SignedEvidence, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	return &SignedEvidence{Evidence: body, Algorithm: "Ed25519",
		Signature: base64.StdEncoding.EncodeToString(ed25519.Sign(key, append([]byte(evidenceDomain), body...))),
		PublicKey: base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))}, nil
}

// Verify checks the signature with pub and decodes the evidence. An erasure certificate
// inside is verified with the same key.
func (s SignedEvidence) Verify(pub ed25519.PublicKey) (Evidence, error) {
	var e Evidence
	sig, err := base64.StdEncoding.DecodeString(s.Signature)
	if err != nil || len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, append([]byte(evidenceDomain), s.Evidence...), sig) {
		return e, eusaas.E(eusaas.InvalidArgument, "evidence signature does not verify")
	}
	if err := json.Unmarshal(s.Evidence, &e); err != nil {
		return e, eusaas.E(eusaas.InvalidArgument, "evidence is not valid JSON").Wrap(err)
	}
	if e.Type != evidenceType {
		return e, eusaas.Errorf(eusaas.InvalidArgument, "evidence type %q, want %q", e.Type, evidenceType)
	}
	if e.Job != nil && e.Job.Certificate != nil {
		if _, err := e.Job.Certificate.Verify(pub); err != nil {
			return e, eusaas.E(eusaas.InvalidArgument, "the erasure certificate in the evidence does not verify")
		}
	}
	return e, nil
}

const evidenceType = "DSR_EVIDENCE"

// emailDigest is the SHA-256 of the normalised address (lower case, trimmed), hex.
func emailDigest(email string) string {
	if email == "" {
		return ""
	}
	h := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return hex.EncodeToString(h[:])
}

func (s *Service) evidence(d DSR, job *Request) (*SignedEvidence, error) {
	e := Evidence{Type: evidenceType, RequestID: d.ID, TenantID: d.TenantID.String(), RequestType: d.Type, Status: d.Status,
		SubjectID: d.SubjectID, EmailSHA256: emailDigest(d.Email), ReceivedAt: d.ReceivedAt, DueAt: d.DueAt,
		ExtensionNote: d.ExtensionReason, CompletedAt: d.CompletedAt, OnTime: !d.CompletedAt.After(d.Deadline()),
		Rejection: d.RejectionReason, Outcome: d.Outcome, Timeline: d.Timeline, Counts: d.Counts}
	if e.EmailSHA256 == "" {
		e.EmailSHA256 = d.EmailSHA256
	}
	if !d.ExtendedDueAt.IsZero() {
		t := d.ExtendedDueAt
		e.ExtendedDueAt = &t
	}
	if !d.IdentityVerifiedAt.IsZero() {
		e.Identity = &EvidenceID{At: d.IdentityVerifiedAt, By: d.IdentityVerifiedBy, Method: d.IdentityMethod}
	}
	if job != nil {
		e.Job = &EvidenceJob{ID: job.ID, Kind: job.Kind, Status: job.Status, CompletedAt: job.CompletedAt,
			ArchiveSHA256: job.ArchiveSHA256, Certificate: job.Certificate}
		if job.Kind == KindExport {
			e.Job.Format = job.Format
		}
	}
	return signEvidence(s.o.SigningKey, e)
}
