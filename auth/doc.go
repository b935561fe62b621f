// Package auth decides who is calling, for which tenant, with which rights: tenant users and
// platform operators, Argon2id password hashing, RS256 access tokens with a published key
// set, rotating opaque refresh tokens with reuse detection, invitations, and the role and
// permission map of the platform.
package auth
