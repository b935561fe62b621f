package redis

import (
	"context"
	"errors"

	"github.com/eusaas/eusaas"
)

// translate maps client errors to kinds: context errors stay as they are, everything else
// (connection refused, timeouts, script errors) is Unavailable and callers fail closed.
// what names the component in the client-safe message.
func translate(err error, what string) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return eusaas.E(eusaas.Unavailable, what+" unavailable").Wrap(err)
}
