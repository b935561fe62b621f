package eusaas

import "context"

// TxRunner runs fn inside one transaction. Stores of the same adapter called with the ctx
// passed to fn take part in that transaction; if fn returns an error (or panics) everything
// is rolled back. Nested calls join the outer transaction.
//
// The Postgres adapter keeps its transaction in the context under an unexported key, so
// domain code never sees a driver type; the memory adapter implements the same contract
// including rollback.
type TxRunner interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// NoTx is a TxRunner that runs fn directly, for stores with no transactions. Use it only when
// atomicity across stores is not needed.
var NoTx TxRunner = noTx{}

type noTx struct{}

func (noTx) InTx(ctx context.Context, fn func(context.Context) error) error { return fn(ctx) }
