package memauth

import (
	"bytes"
	"context"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
	"github.com/eusaas/eusaas/memtx"
)

// Store keeps auth users, operators, sessions, invitations, service accounts, password
// resets, e-mail verifications, TOTP enrolments and tenant API keys in memory. It implements
// auth.UserStore, auth.OperatorStore, auth.SessionStore, auth.InvitationStore,
// auth.ServiceAccountStore, auth.PasswordResetStore, auth.EmailVerificationStore,
// auth.MFAStore and auth.APIKeyStore and takes part in TxRunner transactions.
type Store struct {
	mu          sync.Mutex
	users       map[eusaas.TenantID]map[uuid.UUID]auth.User // operators under NilTenant
	sessions    map[eusaas.TenantID]map[uuid.UUID]auth.Session
	invitations map[eusaas.TenantID]map[uuid.UUID]auth.Invitation
	svcAccounts map[eusaas.TenantID]map[uuid.UUID]auth.ServiceAccount // all under NilTenant
	// resets are the outstanding password resets by account id (operators under NilTenant).
	resets map[eusaas.TenantID]map[uuid.UUID]authReset
	// verifications are the outstanding e-mail verifications by user id.
	verifications map[eusaas.TenantID]map[uuid.UUID]authReset
	// totp are the TOTP enrolments by account id (operators under NilTenant).
	totp map[eusaas.TenantID]map[uuid.UUID]auth.TOTPEnrolment
	// apiKeys are the tenants' API keys by key id.
	apiKeys map[eusaas.TenantID]map[uuid.UUID]auth.APIKey
	// sso are the tenants' SSO configurations.
	sso map[eusaas.TenantID]auth.SSOConfig
}

type authReset struct {
	hash    []byte
	expires time.Time
}

var (
	_ auth.UserStore       = (*Store)(nil)
	_ auth.OperatorStore   = (*Store)(nil)
	_ auth.SessionStore    = (*Store)(nil)
	_ auth.InvitationStore = (*Store)(nil)

	_ auth.ServiceAccountStore    = (*Store)(nil)
	_ auth.PasswordResetStore     = (*Store)(nil)
	_ auth.EmailVerificationStore = (*Store)(nil)
)

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{users: map[eusaas.TenantID]map[uuid.UUID]auth.User{},
		sessions:      map[eusaas.TenantID]map[uuid.UUID]auth.Session{},
		invitations:   map[eusaas.TenantID]map[uuid.UUID]auth.Invitation{},
		svcAccounts:   map[eusaas.TenantID]map[uuid.UUID]auth.ServiceAccount{},
		resets:        map[eusaas.TenantID]map[uuid.UUID]authReset{},
		verifications: map[eusaas.TenantID]map[uuid.UUID]authReset{},
		totp:          map[eusaas.TenantID]map[uuid.UUID]auth.TOTPEnrolment{},
		apiKeys:       map[eusaas.TenantID]map[uuid.UUID]auth.APIKey{}}
}

func authNotFound(what string) error { return eusaas.E(eusaas.NotFound, what+" not found") }

// authPut stores v under m[t][id], registering the inverse for a rollback. Callers hold mu.
func authPut[T any](ctx context.Context, s *Store, m map[eusaas.TenantID]map[uuid.UUID]T, t eusaas.TenantID, id uuid.UUID, v T) {
	inner := m[t]
	if inner == nil {
		inner = map[uuid.UUID]T{}
		m[t] = inner
	}
	old, had := inner[id]
	inner[id] = v
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if m[t] == nil {
			return // the tenant was erased since (GDPRDeleteTenant): it stays erased
		}
		if had {
			m[t][id] = old
		} else {
			delete(m[t], id)
		}
	})
}

func authDel[T any](ctx context.Context, s *Store, m map[eusaas.TenantID]map[uuid.UUID]T, t eusaas.TenantID, id uuid.UUID) bool {
	old, had := m[t][id]
	if !had {
		return false
	}
	delete(m[t], id)
	memtx.OnRollback(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if m[t] == nil {
			return // the tenant was erased since (GDPRDeleteTenant): it stays erased
		}
		m[t][id] = old
	})
	return true
}

func authClone(b []byte) []byte { return append([]byte(nil), b...) }

// createAccount inserts u unless limit > 0 and the tenant already holds limit accounts; the
// count and the insert happen under one hold of mu, so they are atomic.
func (s *Store) createAccount(ctx context.Context, t eusaas.TenantID, u auth.User, limit int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if limit > 0 && len(s.users[t]) >= limit {
		return auth.ErrTenantUserLimit
	}
	for _, x := range s.users[t] {
		if x.Email == u.Email {
			return auth.ErrEmailTaken
		}
	}
	if _, ok := s.users[t][u.ID]; ok {
		return eusaas.E(eusaas.AlreadyExists, "user id taken")
	}
	authPut(ctx, s, s.users, t, u.ID, u)
	return nil
}

func (s *Store) getAccount(ctx context.Context, t eusaas.TenantID, id uuid.UUID) (auth.User, error) {
	if err := ctx.Err(); err != nil {
		return auth.User{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[t][id]
	if !ok {
		return auth.User{}, auth.ErrUserNotFound
	}
	return u, nil
}

func (s *Store) getAccountByEmail(ctx context.Context, t eusaas.TenantID, email string) (auth.User, error) {
	if err := ctx.Err(); err != nil {
		return auth.User{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range s.users[t] {
		if u.Email == email {
			return u, nil
		}
	}
	return auth.User{}, auth.ErrUserNotFound
}

func (s *Store) updateAccount(ctx context.Context, t eusaas.TenantID, id uuid.UUID, f func(*auth.User)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[t][id]
	if !ok {
		return auth.ErrUserNotFound
	}
	f(&u)
	authPut(ctx, s, s.users, t, id, u)
	return nil
}

// CreateUser implements auth.UserStore.
func (s *Store) CreateUser(ctx context.Context, u auth.User) error {
	if u.TenantID.IsZero() {
		return eusaas.E(eusaas.InvalidArgument, "user without tenant")
	}
	return s.createAccount(ctx, u.TenantID, u, 0)
}

// CreateUserWithinLimit implements auth.UserStore.
func (s *Store) CreateUserWithinLimit(ctx context.Context, u auth.User, limit int) error {
	if u.TenantID.IsZero() {
		return eusaas.E(eusaas.InvalidArgument, "user without tenant")
	}
	return s.createAccount(ctx, u.TenantID, u, limit)
}

// CountUsers implements auth.UserStore; deactivated users count.
func (s *Store) CountUsers(ctx context.Context, t eusaas.TenantID) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if t.IsZero() {
		return 0, nil // operators are no tenant's users
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.users[t]), nil
}

// GetUser implements auth.UserStore.
func (s *Store) GetUser(ctx context.Context, t eusaas.TenantID, id uuid.UUID) (auth.User, error) {
	if t.IsZero() {
		return auth.User{}, auth.ErrUserNotFound
	}
	return s.getAccount(ctx, t, id)
}

// GetUserByEmail implements auth.UserStore.
func (s *Store) GetUserByEmail(ctx context.Context, t eusaas.TenantID, email string) (auth.User, error) {
	if t.IsZero() {
		return auth.User{}, auth.ErrUserNotFound
	}
	return s.getAccountByEmail(ctx, t, email)
}

// SetUserPassword implements auth.UserStore.
func (s *Store) SetUserPassword(ctx context.Context, t eusaas.TenantID, id uuid.UUID, hash string, at time.Time) error {
	if t.IsZero() {
		return auth.ErrUserNotFound
	}
	return s.updateAccount(ctx, t, id, func(u *auth.User) { u.PasswordHash, u.UpdatedAt = hash, at })
}

// SetUserActive implements auth.UserStore.
func (s *Store) SetUserActive(ctx context.Context, t eusaas.TenantID, id uuid.UUID, active bool, at time.Time) error {
	if t.IsZero() {
		return auth.ErrUserNotFound
	}
	return s.updateAccount(ctx, t, id, func(u *auth.User) { u.IsActive, u.UpdatedAt = active, at })
}

// RecordUserLogin implements auth.UserStore.
func (s *Store) RecordUserLogin(ctx context.Context, t eusaas.TenantID, id uuid.UUID, at time.Time) error {
	if t.IsZero() {
		return auth.ErrUserNotFound
	}
	return s.updateAccount(ctx, t, id, func(u *auth.User) { u.LastLoginAt = at })
}

// DeleteUser implements auth.UserStore.
func (s *Store) DeleteUser(ctx context.Context, t eusaas.TenantID, id uuid.UUID) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if t.IsZero() {
		return 0, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	authDel(ctx, s, s.resets, t, id)
	authDel(ctx, s, s.verifications, t, id)
	authDel(ctx, s, s.totp, t, id)
	if authDel(ctx, s, s.users, t, id) {
		return 1, nil
	}
	return 0, nil
}

// CreateOperator implements auth.OperatorStore.
func (s *Store) CreateOperator(ctx context.Context, u auth.User) error {
	u.TenantID, u.Role = eusaas.NilTenant, ""
	return s.createAccount(ctx, eusaas.NilTenant, u, 0)
}

// GetOperator implements auth.OperatorStore.
func (s *Store) GetOperator(ctx context.Context, id uuid.UUID) (auth.User, error) {
	return s.getAccount(ctx, eusaas.NilTenant, id)
}

// GetOperatorByEmail implements auth.OperatorStore.
func (s *Store) GetOperatorByEmail(ctx context.Context, email string) (auth.User, error) {
	return s.getAccountByEmail(ctx, eusaas.NilTenant, email)
}

// SetOperatorPassword implements auth.OperatorStore.
func (s *Store) SetOperatorPassword(ctx context.Context, id uuid.UUID, hash string, at time.Time) error {
	return s.updateAccount(ctx, eusaas.NilTenant, id, func(u *auth.User) { u.PasswordHash, u.UpdatedAt = hash, at })
}

// SetOperatorActive implements auth.OperatorStore.
func (s *Store) SetOperatorActive(ctx context.Context, id uuid.UUID, active bool, at time.Time) error {
	return s.updateAccount(ctx, eusaas.NilTenant, id, func(u *auth.User) { u.IsActive, u.UpdatedAt = active, at })
}

// RecordOperatorLogin implements auth.OperatorStore.
func (s *Store) RecordOperatorLogin(ctx context.Context, id uuid.UUID, at time.Time) error {
	return s.updateAccount(ctx, eusaas.NilTenant, id, func(u *auth.User) { u.LastLoginAt = at })
}

// CountOperators implements auth.OperatorStore.
func (s *Store) CountOperators(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.users[eusaas.NilTenant]), nil
}

// CreateSession implements auth.SessionStore.
func (s *Store) CreateSession(ctx context.Context, x auth.Session) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sessions[x.TenantID][x.ID]; ok {
		return eusaas.E(eusaas.AlreadyExists, "session exists")
	}
	x.TokenHash = authClone(x.TokenHash)
	authPut(ctx, s, s.sessions, x.TenantID, x.ID, x)
	return nil
}

// GetSession implements auth.SessionStore.
func (s *Store) GetSession(ctx context.Context, t eusaas.TenantID, id uuid.UUID) (auth.Session, error) {
	if err := ctx.Err(); err != nil {
		return auth.Session{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.sessions[t][id]
	if !ok {
		return auth.Session{}, authNotFound("session")
	}
	x.TokenHash = authClone(x.TokenHash)
	return x, nil
}

// RotateSession implements auth.SessionStore.
func (s *Store) RotateSession(ctx context.Context, t eusaas.TenantID, id uuid.UUID, from uint64, newHash []byte, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.sessions[t][id]
	if !ok {
		return authNotFound("session")
	}
	if x.Counter != from || x.Revoked() {
		return eusaas.E(eusaas.Aborted, "session changed concurrently")
	}
	x.Counter, x.TokenHash, x.RotatedAt = from+1, authClone(newHash), at
	authPut(ctx, s, s.sessions, t, id, x)
	return nil
}

// RevokeSession implements auth.SessionStore.
func (s *Store) RevokeSession(ctx context.Context, t eusaas.TenantID, id uuid.UUID, at time.Time, reason string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.sessions[t][id]
	if !ok {
		return authNotFound("session")
	}
	if !x.Revoked() {
		x.RevokedAt, x.RevokeReason = at, reason
		authPut(ctx, s, s.sessions, t, id, x)
	}
	return nil
}

// RevokeUserSessions implements auth.SessionStore.
func (s *Store) RevokeUserSessions(ctx context.Context, t eusaas.TenantID, userID uuid.UUID, at time.Time, reason string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, x := range s.sessions[t] {
		if x.UserID == userID && !x.Revoked() {
			x.RevokedAt, x.RevokeReason = at, reason
			authPut(ctx, s, s.sessions, t, id, x)
			n++
		}
	}
	return n, nil
}

// ListUserSessions implements auth.SessionStore.
func (s *Store) ListUserSessions(ctx context.Context, t eusaas.TenantID, userID uuid.UUID) ([]auth.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []auth.Session
	for _, x := range s.sessions[t] {
		if x.UserID == userID && !x.Revoked() {
			x.TokenHash = authClone(x.TokenHash)
			out = append(out, x)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID.String() < out[j].ID.String()
	})
	return out, nil
}

// DeleteUserSessions implements auth.SessionStore.
func (s *Store) DeleteUserSessions(ctx context.Context, t eusaas.TenantID, userID uuid.UUID) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, x := range s.sessions[t] {
		if x.UserID == userID && authDel(ctx, s, s.sessions, t, id) {
			n++
		}
	}
	return n, nil
}

// CreateInvitation implements auth.InvitationStore.
func (s *Store) CreateInvitation(ctx context.Context, inv auth.Invitation) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, x := range s.invitations[inv.TenantID] {
		if id == inv.ID || bytes.Equal(x.TokenHash, inv.TokenHash) {
			return eusaas.E(eusaas.AlreadyExists, "invitation exists")
		}
	}
	inv.TokenHash = authClone(inv.TokenHash)
	authPut(ctx, s, s.invitations, inv.TenantID, inv.ID, inv)
	return nil
}

// ConsumeInvitation implements auth.InvitationStore.
func (s *Store) ConsumeInvitation(ctx context.Context, t eusaas.TenantID, tokenHash []byte, now time.Time) (auth.Invitation, error) {
	if err := ctx.Err(); err != nil {
		return auth.Invitation{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, x := range s.invitations[t] {
		if bytes.Equal(x.TokenHash, tokenHash) && x.UsedAt.IsZero() && now.Before(x.ExpiresAt) {
			x.UsedAt = now
			authPut(ctx, s, s.invitations, t, id, x)
			x.TokenHash = authClone(x.TokenHash)
			return x, nil
		}
	}
	return auth.Invitation{}, authNotFound("invitation")
}

// DeleteInvitationsByEmail implements auth.InvitationStore.
func (s *Store) DeleteInvitationsByEmail(ctx context.Context, t eusaas.TenantID, email string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, x := range s.invitations[t] {
		if x.Email == email && authDel(ctx, s, s.invitations, t, id) {
			n++
		}
	}
	return n, nil
}

// Denylist is an in-memory auth.Denylist for a single process.
type Denylist struct {
	clock eusaas.Clock
	mu    sync.Mutex
	m     map[authDenyKey]time.Time
}

type authDenyKey struct {
	tenant   eusaas.TenantID
	iss, jti string
}

var _ auth.Denylist = (*Denylist)(nil)

// NewDenylist returns an empty denylist; clock decides when entries expire.
func NewDenylist(clock eusaas.Clock) *Denylist {
	if clock == nil {
		clock = eusaas.SystemClock
	}
	return &Denylist{clock: clock, m: map[authDenyKey]time.Time{}}
}

// Deny implements auth.Denylist.
func (d *Denylist) Deny(ctx context.Context, t eusaas.TenantID, iss, jti string, until time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.clock.Now()
	for k, u := range d.m { // forget expired entries so the map stays bounded
		if !now.Before(u) {
			delete(d.m, k)
		}
	}
	k := authDenyKey{t, iss, jti}
	if until.After(d.m[k]) {
		d.m[k] = until
	}
	return nil
}

// Denied implements auth.Denylist.
func (d *Denylist) Denied(ctx context.Context, t eusaas.TenantID, iss, jti string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	u, ok := d.m[authDenyKey{t, iss, jti}]
	return ok && d.clock.Now().Before(u), nil
}

// Limiter is an in-memory auth.Limiter for a single process.
type Limiter struct {
	mu sync.Mutex
	m  map[authLimitKey]authCounter
}

type authLimitKey struct {
	tenant eusaas.TenantID
	key    string
}

type authCounter struct {
	fc      auth.FailureCount
	expires time.Time
}

var _ auth.Limiter = (*Limiter)(nil)

// authLimiterSweepAt is the counter count at which RecordFailure sweeps expired counters.
const authLimiterSweepAt = 10000

// NewLimiter returns an empty limiter.
func NewLimiter() *Limiter { return &Limiter{m: map[authLimitKey]authCounter{}} }

// RecordFailure implements auth.Limiter.
func (l *Limiter) RecordFailure(ctx context.Context, t eusaas.TenantID, key string, now time.Time, window time.Duration) (auth.FailureCount, error) {
	if err := ctx.Err(); err != nil {
		return auth.FailureCount{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.m) >= authLimiterSweepAt {
		// Forget expired counters so a spray of addresses cannot grow the map without bound.
		for k, c := range l.m {
			if !now.Before(c.expires) {
				delete(l.m, k)
			}
		}
	}
	k := authLimitKey{t, key}
	c := l.m[k]
	if !now.Before(c.expires) {
		c = authCounter{}
	}
	c.fc.Failures++
	c.fc.Last = now
	c.expires = now.Add(window)
	l.m[k] = c
	return c.fc, nil
}

// Failures implements auth.Limiter.
func (l *Limiter) Failures(ctx context.Context, t eusaas.TenantID, key string, now time.Time) (auth.FailureCount, error) {
	if err := ctx.Err(); err != nil {
		return auth.FailureCount{}, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.m[authLimitKey{t, key}]
	if !ok || !now.Before(c.expires) {
		return auth.FailureCount{}, nil
	}
	return c.fc, nil
}

// ResetFailures implements auth.Limiter.
func (l *Limiter) ResetFailures(ctx context.Context, t eusaas.TenantID, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, authLimitKey{t, key})
	return nil
}

// ListUsers implements auth.UserStore.
func (s *Store) ListUsers(ctx context.Context, t eusaas.TenantID, f auth.UserFilter, page eusaas.Page) (eusaas.List[auth.User], error) {
	if err := ctx.Err(); err != nil {
		return eusaas.List[auth.User]{}, err
	}
	s.mu.Lock()
	var all []auth.User
	if !t.IsZero() {
		for _, u := range s.users[t] {
			if (f.Role == "" || u.Role == f.Role) && (f.Active == nil || u.IsActive == *f.Active) {
				all = append(all, u)
			}
		}
	}
	s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool {
		if !all[i].CreatedAt.Equal(all[j].CreatedAt) {
			return all[i].CreatedAt.Before(all[j].CreatedAt)
		}
		return bytes.Compare(all[i].ID[:], all[j].ID[:]) < 0
	})
	return authPageOf(all, page), nil
}

func authPageOf[T any](all []T, page eusaas.Page) eusaas.List[T] {
	lo, hi := min(page.Offset(), len(all)), min(page.Offset()+page.Size, len(all))
	return eusaas.List[T]{Items: append([]T{}, all[lo:hi]...), Total: len(all)}
}

// otherActiveOwners counts the tenant's active owners other than id. Callers hold mu.
func (s *Store) otherActiveOwners(t eusaas.TenantID, id uuid.UUID) int {
	n := 0
	for uid, u := range s.users[t] {
		if uid != id && u.Role == auth.RoleOwner && u.IsActive {
			n++
		}
	}
	return n
}

// UpdateUser implements auth.UserStore; the owner check and the write share one hold of mu.
func (s *Store) UpdateUser(ctx context.Context, t eusaas.TenantID, id uuid.UUID, ch auth.UserChange, at time.Time) (auth.User, error) {
	if err := ctx.Err(); err != nil {
		return auth.User{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[t][id]
	if !ok || t.IsZero() {
		return auth.User{}, auth.ErrUserNotFound
	}
	if !ch.KeepsOwner(u) && s.otherActiveOwners(t, id) == 0 {
		return auth.User{}, auth.ErrLastOwner
	}
	u = ch.Apply(u, at)
	authPut(ctx, s, s.users, t, id, u)
	return u, nil
}

// RemoveUser implements auth.UserStore.
func (s *Store) RemoveUser(ctx context.Context, t eusaas.TenantID, id uuid.UUID) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[t][id]
	if !ok || t.IsZero() {
		return auth.ErrUserNotFound
	}
	if u.Role == auth.RoleOwner && u.IsActive && s.otherActiveOwners(t, id) == 0 {
		return auth.ErrLastOwner
	}
	authDel(ctx, s, s.users, t, id)
	authDel(ctx, s, s.resets, t, id)
	authDel(ctx, s, s.verifications, t, id)
	authDel(ctx, s, s.totp, t, id)
	return nil
}

func authPending(x auth.Invitation, now time.Time) bool {
	return x.UsedAt.IsZero() && now.Before(x.ExpiresAt)
}

// ListPendingInvitations implements auth.InvitationStore.
func (s *Store) ListPendingInvitations(ctx context.Context, t eusaas.TenantID, now time.Time, page eusaas.Page) (eusaas.List[auth.Invitation], error) {
	if err := ctx.Err(); err != nil {
		return eusaas.List[auth.Invitation]{}, err
	}
	s.mu.Lock()
	var all []auth.Invitation
	for _, x := range s.invitations[t] {
		if authPending(x, now) {
			x.TokenHash = nil
			all = append(all, x)
		}
	}
	s.mu.Unlock()
	sort.Slice(all, func(i, j int) bool {
		if !all[i].CreatedAt.Equal(all[j].CreatedAt) {
			return all[i].CreatedAt.Before(all[j].CreatedAt)
		}
		return bytes.Compare(all[i].ID[:], all[j].ID[:]) < 0
	})
	return authPageOf(all, page), nil
}

// DeleteInvitation implements auth.InvitationStore.
func (s *Store) DeleteInvitation(ctx context.Context, t eusaas.TenantID, id uuid.UUID, now time.Time) (auth.Invitation, error) {
	if err := ctx.Err(); err != nil {
		return auth.Invitation{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.invitations[t][id]
	if !ok || !authPending(x, now) {
		return auth.Invitation{}, authNotFound("invitation")
	}
	authDel(ctx, s, s.invitations, t, id)
	x.TokenHash = nil
	return x, nil
}

// SetPasswordReset implements auth.PasswordResetStore.
func (s *Store) SetPasswordReset(ctx context.Context, t eusaas.TenantID, id uuid.UUID, hash []byte, expires time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[t][id]; !ok {
		return auth.ErrUserNotFound
	}
	authPut(ctx, s, s.resets, t, id, authReset{hash: authClone(hash), expires: expires})
	return nil
}

// ConsumePasswordReset implements auth.PasswordResetStore.
func (s *Store) ConsumePasswordReset(ctx context.Context, t eusaas.TenantID, hash []byte, now time.Time) (uuid.UUID, error) {
	if err := ctx.Err(); err != nil {
		return uuid.Nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, r := range s.resets[t] {
		if bytes.Equal(r.hash, hash) && now.Before(r.expires) {
			authDel(ctx, s, s.resets, t, id)
			return id, nil
		}
	}
	return uuid.Nil, authNotFound("password reset")
}

// SetEmailVerification implements auth.EmailVerificationStore.
func (s *Store) SetEmailVerification(ctx context.Context, t eusaas.TenantID, id uuid.UUID, hash []byte, expires time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[t][id]; !ok || t.IsZero() {
		return auth.ErrUserNotFound
	}
	authPut(ctx, s, s.verifications, t, id, authReset{hash: authClone(hash), expires: expires})
	return nil
}

// ConsumeEmailVerification implements auth.EmailVerificationStore.
func (s *Store) ConsumeEmailVerification(ctx context.Context, t eusaas.TenantID, hash []byte, now time.Time) (uuid.UUID, error) {
	if err := ctx.Err(); err != nil {
		return uuid.Nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, r := range s.verifications[t] {
		if bytes.Equal(r.hash, hash) && now.Before(r.expires) {
			u, ok := s.users[t][id]
			if !ok {
				break
			}
			authDel(ctx, s, s.verifications, t, id)
			u.EmailVerified, u.UpdatedAt = true, now
			authPut(ctx, s, s.users, t, id, u)
			return id, nil
		}
	}
	return uuid.Nil, authNotFound("e-mail verification")
}
