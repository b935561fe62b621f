package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eusaas/eusaas/auth"
)

// cookieName is the session cookie. The __Host- prefix (when Secure) makes browsers refuse a
// cookie for it that is not host-only, Secure and Path=/: a sibling subdomain cannot plant a
// session id (session fixation).
const (
	cookieName       = "eusaas_console"
	secureCookieName = "__Host-eusaas_console"
)

// session is the server-side state behind one cookie. The browser holds only the opaque id:
// the access and refresh tokens never reach it, so script injection could not read them and
// a stolen cookie dies with the session (logout revokes the refresh session in the API).
type session struct {
	id       string
	csrf     string
	created  time.Time
	lastSeen time.Time
	access   string
	refresh  string
	// who and lang are read by every request of the session without the store's lock, and
	// replaced by some (a token refresh, the language switch): atomics, so concurrent
	// requests of one browser never race.
	who    atomic.Pointer[auth.Principal] // nil until signed in
	lang   atomic.Value                   // string
	tenant string                         // tenant id or slug the user signed in with (display, MFA step)
	// mfaToken and mfaTenant hold a pending second factor between the password and the code.
	mfaToken  string
	mfaTenant string
	flash     string // a one-time notice shown on the next page
	flashErr  bool
	// once holds a secret the API shows once (an invitation token); shown on the next page
	// and then forgotten.
	once string
	// enrolSecret and enrolURL are a TOTP enrolment awaiting its first code (the API shows
	// them once); recovery holds the recovery codes until the next account page shows them.
	enrolSecret, enrolURL string
	recovery              []string
}

// sessions is the in-memory session store. Anonymous sessions exist only to carry the CSRF
// token of the sign-in forms and expire after an hour; signed-in ones after idle or max.
type sessions struct {
	mu      sync.Mutex
	m       map[string]*session
	idle    time.Duration
	max     time.Duration
	limit   int
	now     func() time.Time
	lastGC  time.Time
	gcEvery time.Duration
}

func newSessions(idle, max time.Duration, limit int, now func() time.Time) *sessions {
	return &sessions{m: map[string]*session{}, idle: idle, max: max, limit: limit, now: now, gcEvery: time.Minute}
}

func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// get returns the live session of id, or nil.
func (s *sessions) get(id string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.m[id]
	if ss == nil {
		return nil
	}
	now := s.now()
	if s.expired(ss, now) {
		delete(s.m, id)
		return nil
	}
	ss.lastSeen = now
	return ss
}

func (s *sessions) expired(ss *session, now time.Time) bool {
	idle := s.idle
	if ss.principal() == nil {
		idle = time.Hour
	}
	return now.Sub(ss.lastSeen) > idle || now.Sub(ss.created) > s.max
}

// create makes a new session. When the store is full, expired sessions are dropped first and
// then the oldest anonymous ones, so a flood of anonymous visits cannot push out people who
// are signed in.
func (s *sessions) create(lang string) *session {
	now := s.now()
	ss := &session{id: randomToken(), csrf: randomToken(), created: now, lastSeen: now}
	ss.lang.Store(lang)
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.lastGC) > s.gcEvery || len(s.m) >= s.limit {
		s.lastGC = now
		for id, o := range s.m {
			if s.expired(o, now) {
				delete(s.m, id)
			}
		}
		for id, o := range s.m {
			if len(s.m) < s.limit {
				break
			}
			if o.principal() == nil {
				delete(s.m, id)
			}
		}
	}
	s.m[ss.id] = ss
	return ss
}

// rotate replaces ss by a new session with a new id and CSRF token (after sign-in: an id
// known before authentication must not stay valid after it).
func (s *sessions) rotate(ss *session) *session {
	n := s.create(ss.language())
	s.drop(ss.id)
	return n
}

func (s *sessions) drop(id string) {
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

// update runs fn on ss under the store's lock (sessions are shared by concurrent requests).
func (s *sessions) update(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn()
}

// cookie is the session cookie for ss. secure follows the request (TLS) or APP_PUBLIC_URL.
func sessionCookie(ss *session, secure bool) *http.Cookie {
	name := cookieName
	if secure {
		name = secureCookieName
	}
	return &http.Cookie{Name: name, Value: ss.id, Path: "/", HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode}
}

// csrfOK compares the form's token with the session's in constant time.
func csrfOK(ss *session, got string) bool {
	return ss != nil && got != "" && subtle.ConstantTimeCompare([]byte(ss.csrf), []byte(got)) == 1
}

// principal is the signed-in principal, nil for an anonymous session.
func (ss *session) principal() *auth.Principal { return ss.who.Load() }

// language is the session's language.
func (ss *session) language() string {
	l, _ := ss.lang.Load().(string)
	return l
}
