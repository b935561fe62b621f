package auth_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

func TestPrincipalCan(t *testing.T) {
	a, b := eusaas.NewTenantID(), eusaas.NewTenantID()
	owner := auth.Principal{Kind: eusaas.ActorUser, TenantID: a, Role: auth.RoleOwner}
	admin := auth.Principal{Kind: eusaas.ActorUser, TenantID: a, Role: auth.RoleAdmin}
	member := auth.Principal{Kind: eusaas.ActorUser, TenantID: a, Role: auth.RoleMember}
	viewer := auth.Principal{Kind: eusaas.ActorUser, TenantID: a, Role: auth.RoleViewer}
	op := auth.Principal{Kind: eusaas.ActorOperator}
	svc := auth.Principal{Kind: eusaas.ActorService}

	require.True(t, owner.Can(a, auth.PermTenantAdmin))
	require.False(t, admin.Can(a, auth.PermTenantAdmin), "ADMIN: all but tenant administration")
	require.True(t, admin.Can(a, auth.PermTenantWrite))
	require.False(t, member.Can(a, auth.PermUsersWrite), "issue 12: OWNER/ADMIN write users")
	require.True(t, admin.Can(a, auth.PermUsersWrite))
	require.True(t, member.Can(a, auth.PermUsersRead))
	require.True(t, viewer.Can(a, auth.PermUsersRead))
	require.False(t, viewer.Can(a, auth.PermUsersWrite))
	require.True(t, viewer.Can(a, auth.PermAuditRead))
	require.False(t, member.Can(a, auth.PermGDPRWrite))
	require.False(t, owner.Can(b, auth.PermTenantRead), "never another tenant")
	require.False(t, owner.Can(eusaas.NilTenant, auth.PermTenantRead))
	require.False(t, owner.Can(a, auth.PermUsageWrite), "usage ingestion is for operators and services")
	require.True(t, op.Can(b, auth.PermTenantAdmin))
	require.True(t, svc.Can(b, auth.PermUsageWrite))
	require.False(t, svc.Can(b, auth.PermBillingRead))
	require.False(t, auth.Principal{}.Can(a, auth.PermAuditRead), "zero principal can do nothing")
}
