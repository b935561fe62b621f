// Package postgres implements the eusaas ports on PostgreSQL with pgx/v5.
//
// Layout of the data: one platform schema, "eusaas", holds the tenant registry, platform
// operators, the audit log and job records; every tenant's data lives in its own schema
// t_<tenant id hex>. Platform migrations are embedded and applied with goose; tenant schema
// migrations are embedded too and applied per schema (see TenantMigrator).
//
// Transactions: DB implements eusaas.TxRunner. The pgx.Tx is kept in the context under an
// unexported key; every store runs on the context's transaction when there is one, else on
// the pool. Statements on tenant data always run in a transaction that first sets a
// transaction-scoped search_path (set_config(..., true)), so a pooled connection never keeps
// another tenant's path, and a call without a tenant fails closed.
package postgres
