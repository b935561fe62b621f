package memtx

import (
	"context"
	"sync"

	"github.com/eusaas/eusaas"
)

// TxRunner implements eusaas.TxRunner for the in-memory stores of every module. Transactions are serialised
// with one mutex (so two transactions never interleave) and rolled back with an undo log:
// every store mutation made with a transactional context registers its inverse with
// OnRollback, and a failed transaction runs the inverses newest first.
//
// Reads outside a transaction may observe a transaction's uncommitted writes; the memory
// adapter gives atomicity, not isolation, to non-transactional readers.
type TxRunner struct {
	mu sync.Mutex
}

// NewTxRunner returns a TxRunner. Share one between the stores that must commit together.
func NewTxRunner() *TxRunner { return &TxRunner{} }

var _ eusaas.TxRunner = (*TxRunner)(nil)

type txKey struct{}

type undoLog struct {
	mu      sync.Mutex
	undos   []func()
	commits []func()
}

// InTx runs fn as one transaction; nested calls join the outer one.
func (r *TxRunner) InTx(ctx context.Context, fn func(ctx context.Context) error) (err error) {
	if _, ok := ctx.Value(txKey{}).(*undoLog); ok {
		return fn(ctx)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	log := &undoLog{}
	defer func() {
		if p := recover(); p != nil {
			log.rollback()
			panic(p)
		}
		if err != nil {
			log.rollback()
		}
	}()
	if err = fn(context.WithValue(ctx, txKey{}, log)); err == nil {
		log.commit()
	}
	return err
}

func (l *undoLog) commit() {
	l.mu.Lock()
	commits := l.commits
	l.commits = nil
	l.mu.Unlock()
	for _, f := range commits {
		f()
	}
}

func (l *undoLog) rollback() {
	l.mu.Lock()
	undos := l.undos
	l.undos = nil
	l.mu.Unlock()
	for i := len(undos) - 1; i >= 0; i-- {
		undos[i]()
	}
}

// OnRollback registers undo to run if the transaction in ctx rolls back. Outside a
// transaction it does nothing. Stores call it after each mutation, without holding their
// own lock (undo takes it).
func OnRollback(ctx context.Context, undo func()) {
	if l, ok := ctx.Value(txKey{}).(*undoLog); ok {
		l.mu.Lock()
		l.undos = append(l.undos, undo)
		l.mu.Unlock()
	}
}

// OnCommit registers f to run once the transaction in ctx has committed (after fn returned
// nil, in registration order, before InTx returns); outside a transaction it runs f at once.
// It is for effects that others must not see before the commit, such as a job becoming
// runnable. f must not start a transaction.
func OnCommit(ctx context.Context, f func()) {
	l, ok := ctx.Value(txKey{}).(*undoLog)
	if !ok {
		f()
		return
	}
	l.mu.Lock()
	l.commits = append(l.commits, f)
	l.mu.Unlock()
}

// InTransaction reports whether ctx carries a memory transaction.
func InTransaction(ctx context.Context) bool {
	_, ok := ctx.Value(txKey{}).(*undoLog)
	return ok
}
