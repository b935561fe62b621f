module github.com/eusaas/eusaas/adapters/console

go 1.26.0

require (
	github.com/eusaas/eusaas v0.0.0-00010101000000-000000000000
	github.com/shopspring/decimal v1.6.0
	rsc.io/qr v0.2.0
)

require (
	github.com/boombuler/barcode v1.0.1-0.20190219062509-6c824513bacc // indirect
	github.com/golang-jwt/jwt/v5 v5.3.1 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/pquerna/otp v1.5.0 // indirect
	golang.org/x/crypto v0.59.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)

// Development: the root module of this repository (go.work is what `go` uses in the checkout).
replace github.com/eusaas/eusaas => ../..
