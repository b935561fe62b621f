// Package auth decides who is calling, for which tenant, with which rights: tenant users and
// platform operators, Argon2id password hashing, RS256 access tokens with a published key
// set, rotating opaque refresh tokens with reuse detection, invitations, brute-force
// defence, and the role and permission map of the platform.
//
// # Pieces
//
//   - Hasher: Argon2id in PHC form, OWASP floor (m=19 MiB, t=2, p=1) or above; a semaphore
//     caps concurrent hashes (memory = m x slots), overflow is ErrBusy carrying a retry
//     delay (RetryAfter). Logins re-hash when the parameters changed; unknown accounts
//     verify against a dummy hash so their failure takes as long as a wrong password.
//   - KeySet (port Keys): the active RSA key, kid = RFC 7638 thumbprint, and retiring keys
//     published in the JWKS until every token they signed has expired.
//   - Service: Register, Login, Refresh, Logout, Me, Authenticate (for the HTTP layer),
//     Invite, IssueOwnerInvitation (tenancy.InvitationIssuer), EraseSubject (GDPR),
//     BootstrapOperator, SetUserActive.
//   - Service accounts (port ServiceAccountStore): machine principals created by operators,
//     authenticated with the OAuth 2.0 client-credentials grant (ServiceToken: client id and
//     a 32-byte random secret stored as its SHA-256). Their tokens have kind "service", no
//     tenant, no role, no refresh token, and may only ingest usage (Principal.Can).
//
// # Tokens
//
// Access tokens are RS256 JWTs with iss, sub, aud, exp, iat, nbf, jti, tenant_id, role, kind
// (user, operator or service) and sid (session). Verification pins RS256, takes the key by kid from
// the trusted set only, and checks issuer, audience and times with at most 30 s leeway;
// Authenticate then checks the denylist, the session and that the account is still active.
//
// Refresh tokens are opaque: version | kind | tenant | session id | counter | secret. One row
// per session stores the counter and the SHA-256 of the current secret; each secret is the
// HMAC of the previous one, so any genuine old token can be proven genuine without storing
// secrets. Refresh rotates; the immediately previous token within the grace window returns
// the same new pair; any older one is reuse, which revokes the session, is audited as
// REFRESH_REUSE and answers like any invalid token. Sessions end 7 days after login whatever
// the rotations. See docs/adr/0006-auth-refresh-token-chain.md.
//
// # Failures
//
// Every authentication failure is one of three Unauthenticated sentinels whose messages
// never say what failed; secrets (passwords, tokens, keys) never appear in errors.
package auth
