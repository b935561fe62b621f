package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas/gdpr"
)

func TestGDPRSubProcessorsConfig(t *testing.T) {
	c, err := loadGDPRConfig(env(map[string]string{"APP_GDPR_SUBPROCESSORS": "Hetzner Online GmbH|hosting|Germany; Postmark | e-mail delivery | USA (SCCs)"}))
	require.NoError(t, err)
	require.Equal(t, []gdpr.SubProcessor{{Name: "Hetzner Online GmbH", Purpose: "hosting", Location: "Germany"},
		{Name: "Postmark", Purpose: "e-mail delivery", Location: "USA (SCCs)"}}, c.SubProcessors)
	for _, bad := range []string{"Hetzner|hosting", "|hosting|Germany", "a|b|c;;"} {
		_, err := loadGDPRConfig(env(map[string]string{"APP_GDPR_SUBPROCESSORS": bad}))
		var ce *ConfigError
		require.ErrorAs(t, err, &ce, bad)
		require.Equal(t, "APP_GDPR_SUBPROCESSORS", ce.Var)
	}
}
