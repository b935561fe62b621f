package gdpr

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/eusaas/eusaas"
)

// Certificate attests an erasure. It is signed with the platform's Ed25519 key and kept
// in the platform schema, so it stays retrievable after the tenant is gone.
type Certificate struct {
	Type        Kind           `json:"type"`
	RequestID   string         `json:"request_id"`
	TenantID    string         `json:"tenant_id"`
	SubjectID   string         `json:"data_subject_id,omitempty"`
	RequestedAt time.Time      `json:"requested_at"`
	CompletedAt time.Time      `json:"completed_at"`
	Steps       []StepState    `json:"steps,omitempty"`
	Counts      map[string]int `json:"counts"`
	Backup      *BackupInfo    `json:"backup,omitempty"`
	// AuditEntries cites the audit entries written for the erasure (action, and hash when
	// the recorder reports one).
	AuditEntries []CertifiedEntry `json:"audit_entries"`
	// Retained says what the law requires kept and in what form.
	Retained []string `json:"retained,omitempty"`
}

// CertifiedEntry is one audit entry cited by a certificate.
type CertifiedEntry struct {
	Action     string    `json:"action"`
	RecordedAt time.Time `json:"recorded_at"`
	Hash       string    `json:"hash,omitempty"`
}

// SignedCertificate is a certificate's exact JSON bytes and their signature.
type SignedCertificate struct {
	Certificate json.RawMessage `json:"certificate"`
	Algorithm   string          `json:"algorithm"`
	Signature   string          `json:"signature"`  // base64
	PublicKey   string          `json:"public_key"` // base64 Ed25519 public key
}

func signCertificate(key ed25519.PrivateKey, c Certificate) (*SignedCertificate, error) {
	body, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	return &SignedCertificate{Certificate: body, Algorithm: "Ed25519",
		Signature: base64.StdEncoding.EncodeToString(ed25519.Sign(key, body)),
		PublicKey: base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))}, nil
}

// Verify checks the signature with pub and decodes the certificate.
func (s SignedCertificate) Verify(pub ed25519.PublicKey) (Certificate, error) {
	var c Certificate
	sig, err := base64.StdEncoding.DecodeString(s.Signature)
	if err != nil || !ed25519.Verify(pub, s.Certificate, sig) {
		return c, eusaas.E(eusaas.InvalidArgument, "certificate signature does not verify")
	}
	if err := json.Unmarshal(s.Certificate, &c); err != nil {
		return c, eusaas.E(eusaas.InvalidArgument, "certificate is not valid JSON").Wrap(err)
	}
	return c, nil
}

// Download tokens: base64url(payload) "." base64url(Ed25519 signature over a domain prefix
// and the payload). The prefix keeps a token signature from ever being a valid manifest or
// certificate signature.
const tokenDomain = "eusaas-gdpr-download-v1:"

type tokenPayload struct {
	RequestID string `json:"r"`
	TenantID  string `json:"t"`
	Expires   int64  `json:"e"`
}

func signToken(key ed25519.PrivateKey, p tokenPayload) string {
	body, _ := json.Marshal(p)
	enc := base64.RawURLEncoding.EncodeToString(body)
	sig := ed25519.Sign(key, []byte(tokenDomain+enc))
	return enc + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func verifyToken(pub ed25519.PublicKey, token string, now time.Time) (tokenPayload, error) {
	var p tokenPayload
	enc, sigText, ok := strings.Cut(token, ".")
	if !ok {
		return p, ErrBadToken
	}
	sig, err := base64.RawURLEncoding.DecodeString(sigText)
	if err != nil || !ed25519.Verify(pub, []byte(tokenDomain+enc), sig) {
		return p, ErrBadToken
	}
	body, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil || json.Unmarshal(body, &p) != nil {
		return p, ErrBadToken
	}
	if now.Unix() >= p.Expires {
		return p, ErrBadToken
	}
	return p, nil
}

// KeyID is the fingerprint of a key: hex SHA-256 of the material, truncated to 16 bytes.
func KeyID(material []byte) string {
	h := sha256.Sum256(material)
	return hex.EncodeToString(h[:16])
}

// Encrypted backup format: magic "EUSGCM1\n", 8-byte random nonce prefix, then chunks of up
// to sealChunk plaintext bytes, each sealed with AES-256-GCM under nonce = prefix ||
// big-endian chunk counter; the additional data is one byte, 1 on the final chunk, so a
// truncated file fails to decrypt.
const (
	sealMagic = "EUSGCM1\n"
	sealChunk = 64 << 10
)

type sealWriter struct {
	w      io.Writer
	aead   cipher.AEAD
	prefix [8]byte
	ctr    uint32
	buf    []byte
	out    []byte
}

func newSealWriter(w io.Writer, key []byte) (*sealWriter, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	s := &sealWriter{w: w, aead: aead, buf: make([]byte, 0, sealChunk)}
	if _, err := rand.Read(s.prefix[:]); err != nil {
		return nil, err
	}
	if _, err := io.WriteString(w, sealMagic); err != nil {
		return nil, err
	}
	if _, err := w.Write(s.prefix[:]); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *sealWriter) nonce() []byte {
	n := make([]byte, 12)
	copy(n, s.prefix[:])
	binary.BigEndian.PutUint32(n[8:], s.ctr)
	s.ctr++
	return n
}

func (s *sealWriter) Write(p []byte) (int, error) {
	total := len(p)
	for len(p) > 0 {
		// Keep a full buffer until more data arrives, so the final chunk is known at Close.
		if len(s.buf) == sealChunk {
			if err := s.flush(false); err != nil {
				return 0, err
			}
		}
		n := copy(s.buf[len(s.buf):sealChunk], p)
		s.buf = s.buf[:len(s.buf)+n]
		p = p[n:]
	}
	return total, nil
}

func (s *sealWriter) flush(final bool) error {
	ad := []byte{0}
	if final {
		ad[0] = 1
	}
	s.out = s.aead.Seal(s.out[:0], s.nonce(), s.buf, ad)
	s.buf = s.buf[:0]
	_, err := s.w.Write(s.out)
	return err
}

// Close seals the final chunk.
func (s *sealWriter) Close() error { return s.flush(true) }

// OpenSealed returns a reader decrypting a backup written with the tenant's key. Any
// tampering, truncation or a wrong key makes Read fail.
func OpenSealed(r io.Reader, key []byte) (io.Reader, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(r, sealChunk+64)
	head := make([]byte, len(sealMagic)+8)
	if _, err := io.ReadFull(br, head); err != nil || string(head[:len(sealMagic)]) != sealMagic {
		return nil, errors.New("gdpr: not an encrypted backup")
	}
	o := &openReader{r: br, aead: aead, chunk: make([]byte, sealChunk+aead.Overhead())}
	copy(o.prefix[:], head[len(sealMagic):])
	return o, nil
}

type openReader struct {
	r      *bufio.Reader
	aead   cipher.AEAD
	prefix [8]byte
	ctr    uint32
	chunk  []byte
	plain  []byte
	done   bool
}

func (o *openReader) Read(p []byte) (int, error) {
	for len(o.plain) == 0 {
		if o.done {
			return 0, io.EOF
		}
		n, err := io.ReadFull(o.r, o.chunk)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, errors.New("gdpr: backup truncated")
		}
		_, peekErr := o.r.Peek(1)
		final := peekErr != nil
		ad := []byte{0}
		if final {
			ad[0] = 1
		}
		nonce := make([]byte, 12)
		copy(nonce, o.prefix[:])
		binary.BigEndian.PutUint32(nonce[8:], o.ctr)
		o.ctr++
		pt, err := o.aead.Open(o.chunk[:0:0], nonce, o.chunk[:n], ad)
		if err != nil {
			return 0, errors.New("gdpr: backup does not decrypt (tampered, truncated or wrong key)")
		}
		o.plain, o.done = pt, final
	}
	n := copy(p, o.plain)
	o.plain = o.plain[n:]
	return n, nil
}
