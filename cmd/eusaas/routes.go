package main

import (
	"github.com/eusaas/eusaas/adapters/httpapi"
	"github.com/eusaas/eusaas/platform"
)

// registerRoutes is every REST route of the reference server, in one place.
func registerRoutes(s *httpapi.Server, p *platform.Platform) {
	httpapi.RegisterTenancy(s, p.Tenancy)
	httpapi.RegisterAuth(s, p.Auth)
	httpapi.RegisterAudit(s, p.Audit)
	httpapi.RegisterBilling(s, p.Billing)
	httpapi.RegisterAnomaly(s, p.Anomaly)
	httpapi.RegisterGDPR(s, p.GDPR)
}
