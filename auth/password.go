package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/eusaas/eusaas"
)

// HashParams are Argon2id parameters. The OWASP floor (m=19 MiB, t=2, p=1) is the minimum
// NewHasher accepts; deployments may only go upward.
type HashParams struct {
	MemoryKiB uint32 // m, in KiB
	Time      uint32 // t, iterations
	Threads   uint8  // p, parallelism
	SaltLen   uint32 // bytes of random salt
	KeyLen    uint32 // bytes of derived key
}

// OWASPParams is the OWASP Password Storage Cheat Sheet's Argon2id floor.
var OWASPParams = HashParams{MemoryKiB: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Validate rejects parameters below the OWASP floor.
func (p HashParams) Validate() error {
	if p.MemoryKiB < OWASPParams.MemoryKiB || p.Time < OWASPParams.Time || p.Threads < 1 ||
		p.SaltLen < 16 || p.KeyLen < 16 {
		return eusaas.Errorf(eusaas.InvalidArgument,
			"argon2id parameters below the OWASP floor (m>=%d KiB, t>=%d, p>=1, salt>=16, key>=16)",
			OWASPParams.MemoryKiB, OWASPParams.Time)
	}
	return nil
}

// HasherOptions bound the concurrency of hashing. Each running hash holds MemoryKiB of RAM,
// so MaxConcurrent caps the memory password checks can take: m * MaxConcurrent.
type HasherOptions struct {
	// MaxConcurrent hashes run at once (default GOMAXPROCS).
	MaxConcurrent int
	// MaxWaiting callers may queue for a slot (default 64 per slot); more get ErrBusy at once.
	MaxWaiting int
	// MaxWait is how long a queued caller waits before ErrBusy (default 5s).
	MaxWait time.Duration
}

// Hasher hashes and verifies passwords with Argon2id in PHC string form
// ($argon2id$v=19$m=...,t=...,p=...$salt$hash, unpadded standard base64).
type Hasher struct {
	params  HashParams
	sem     chan struct{}
	waiting atomic.Int64
	maxWait int64
	wait    time.Duration
	// dummy is a hash of a random password made with the current parameters. Logins for
	// unknown users verify against it, so they cost the same time as a wrong password.
	dummy string
}

// NewHasher returns a Hasher; params below the OWASP floor are refused.
func NewHasher(params HashParams, opts HasherOptions) (*Hasher, error) {
	if err := params.Validate(); err != nil {
		return nil, err
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = runtime.GOMAXPROCS(0)
	}
	if opts.MaxWaiting <= 0 {
		opts.MaxWaiting = 64 * opts.MaxConcurrent
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = 5 * time.Second
	}
	h := &Hasher{params: params, sem: make(chan struct{}, opts.MaxConcurrent),
		maxWait: int64(opts.MaxWaiting), wait: opts.MaxWait}
	var pw [24]byte
	_, _ = rand.Read(pw[:])
	h.dummy = h.encode(params, mustSalt(params.SaltLen), string(pw[:]))
	return h, nil
}

// Params returns the hasher's current parameters.
func (h *Hasher) Params() HashParams { return h.params }

func mustSalt(n uint32) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return b
}

// acquire takes a hashing slot, queueing at most MaxWait; a full queue or a timeout is
// ErrBusy with a retry hint.
func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.sem <- struct{}{}:
		return nil
	default:
	}
	if h.waiting.Add(1) > h.maxWait {
		h.waiting.Add(-1)
		return &RetryAfterError{Err: ErrBusy, After: time.Second}
	}
	defer h.waiting.Add(-1)
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-t.C:
		return &RetryAfterError{Err: ErrBusy, After: time.Second}
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.sem }

// Hash returns the PHC string of password under the current parameters.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	return h.encode(h.params, mustSalt(h.params.SaltLen), password), nil
}

func (h *Hasher) encode(p HashParams, salt []byte, password string) string {
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// errBadHash is returned for a stored hash that is not a PHC Argon2id string.
var errBadHash = errors.New("auth: stored password hash is not a valid argon2id PHC string")

// decodePHC parses a PHC Argon2id string.
func decodePHC(s string) (p HashParams, salt, key []byte, err error) {
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, errBadHash
	}
	var m, t, par uint64
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return p, nil, nil, errBadHash
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, nil, nil, errBadHash
		}
		switch k {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			par = n
		default:
			return p, nil, nil, errBadHash
		}
	}
	if m == 0 || t == 0 || par == 0 || par > 255 {
		return p, nil, nil, errBadHash
	}
	if salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, errBadHash
	}
	if key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(key) < 16 {
		return p, nil, nil, errBadHash
	}
	p = HashParams{MemoryKiB: uint32(m), Time: uint32(t), Threads: uint8(par), SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}
	return p, salt, key, nil
}

// Verify checks password against the PHC string phc. needsRehash reports that phc was made
// with parameters other than the current ones, so the caller should store a fresh hash
// after a successful login.
func (h *Hasher) Verify(ctx context.Context, phc, password string) (ok, needsRehash bool, err error) {
	p, salt, key, err := decodePHC(phc)
	if err != nil {
		return false, false, err
	}
	// A stored hash can only come from us, but cap its cost anyway so a corrupted row
	// cannot make one login allocate gigabytes.
	if p.MemoryKiB > 1<<20 || p.Time > 16 {
		return false, false, errBadHash
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(key)))
	ok = subtle.ConstantTimeCompare(got, key) == 1
	cur := h.params
	needsRehash = p.MemoryKiB != cur.MemoryKiB || p.Time != cur.Time || p.Threads != cur.Threads ||
		p.KeyLen != cur.KeyLen || p.SaltLen != cur.SaltLen
	return ok, needsRehash, nil
}

// VerifyDummy burns the time of one Verify against a hash of the current parameters; it
// always reports false. Used when the account does not exist.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	_, _, err := h.Verify(ctx, h.dummy, password)
	return err
}

// Password policy bounds (characters, not bytes).
const (
	MinPasswordLen = 10
	MaxPasswordLen = 128
)

// ValidatePassword applies the password policy: 10..128 characters with at least one upper
// case letter, one lower case letter, one digit and one special character. Violations are
// reported at location; the password itself is never echoed.
func ValidatePassword(v *eusaas.Violations, location, pw string) {
	if !utf8.ValidString(pw) {
		v.Add(location, "must be valid UTF-8")
		return
	}
	n := utf8.RuneCountInString(pw)
	if n < MinPasswordLen || n > MaxPasswordLen {
		v.Add(location, fmt.Sprintf("must be %d to %d characters long", MinPasswordLen, MaxPasswordLen))
		return
	}
	var upper, lower, digit, special bool
	for _, r := range pw {
		switch {
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		case unicode.IsDigit(r):
			digit = true
		case unicode.IsControl(r):
		default:
			special = true
		}
	}
	if !upper || !lower || !digit || !special {
		v.Add(location, "must contain an upper case letter, a lower case letter, a digit and a special character")
	}
}
