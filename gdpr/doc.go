// Package gdpr carries out data subjects' and customers' rights: Article 20 export, Article
// 17 erasure of a subject or a whole tenant as a resumable saga, and retention enforcement.
package gdpr
