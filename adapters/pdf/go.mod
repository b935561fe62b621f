module github.com/eusaas/eusaas/adapters/pdf

go 1.26.0

replace github.com/eusaas/eusaas => ../..

require (
	github.com/eusaas/eusaas v0.0.0-00010101000000-000000000000
	github.com/shopspring/decimal v1.6.0
	github.com/signintech/gopdf v0.33.0
	github.com/stretchr/testify v1.12.1
	golang.org/x/image v0.48.0
	rsc.io/qr v0.2.0
)

require (
	github.com/google/uuid v1.6.0 // indirect
	github.com/phpdave11/gofpdi v1.0.14-0.20211212211723-1f10f9844311 // indirect
	github.com/pkg/errors v0.8.1 // indirect
	go.yaml.in/yaml/v3 v3.0.6 // indirect
)
