package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/eusaas/eusaas"

	"github.com/eusaas/eusaas/adapters/postgres"
	"github.com/eusaas/eusaas/gdpr"
	"github.com/eusaas/eusaas/gdpr/gdprtest"
	"github.com/eusaas/eusaas/gdpr/memgdpr"
	"github.com/eusaas/eusaas/internal/pgtest"
)

func TestConformanceGDPR(t *testing.T) {
	gdprtest.Run(t, gdprtest.Harness{
		Features: gdprtest.Features{Transactions: true},
		New: func(t *testing.T) gdprtest.Stores {
			db := postgres.New(pgtest.Pool(t))
			if err := db.MigratePlatform(context.Background()); err != nil {
				t.Fatal(err)
			}
			kek := make([]byte, 32)
			s, err := postgres.NewGDPRStore(db, kek)
			if err != nil {
				t.Fatal(err)
			}
			return gdprtest.Stores{Requests: s, Policies: s, Holds: s, Keys: s, Archives: memgdpr.NewArchives(), DSRs: s, Breaches: s, Leases: s, Tx: db}
		},
	})
}

// gdprSeed creates a tenant schema with two subject-linked tables (a foreign key between
// them) and inserts users and notes; it returns the number of rows.
func gdprSeed(t testing.TB, db *postgres.DB, tenant eusaas.TenantID, users, notesPerUser int) int {
	t.Helper()
	ctx := context.Background()
	if err := db.CreateTenantSchema(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	err := db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, fmt.Sprintf(`
			CREATE TABLE users (id uuid PRIMARY KEY, email text NOT NULL, full_name text, created_at timestamptz NOT NULL DEFAULT now(), deleted_at timestamptz);
			CREATE TABLE notes (id bigserial PRIMARY KEY, user_id uuid NOT NULL REFERENCES users (id), body text, amount numeric(12,4), created_at timestamptz NOT NULL DEFAULT now(), deleted_at timestamptz);
			INSERT INTO users (id, email, full_name) SELECT ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, 'user' || g || '@example.eu', 'User "' || g || '" <x>' FROM generate_series(1, %[1]d) g;
			INSERT INTO notes (user_id, body, amount) SELECT ('00000000-0000-4000-8000-' || lpad((1 + (g %% %[1]d))::text, 12, '0'))::uuid, 'note ' || g || E'\nline, with comma', g / 7.0 FROM generate_series(1, %[1]d * %[2]d) g;`,
			users, notesPerUser))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return users + users*notesPerUser
}

func gdprSchemaExists(t testing.TB, db *postgres.DB, tenant eusaas.TenantID) bool {
	var ok bool
	if err := db.Pool.QueryRow(context.Background(), "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", tenant.SchemaName()).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestConformanceGDPRSaga(t *testing.T) {
	gdprtest.RunSaga(t, gdprtest.SagaHarness{New: func(t *testing.T, tenant eusaas.TenantID) gdprtest.SagaEnv {
		db := postgres.New(pgtest.Pool(t))
		if err := db.MigratePlatform(context.Background()); err != nil {
			t.Fatal(err)
		}
		rows := gdprSeed(t, db, tenant, 10, 3)
		s, err := postgres.NewGDPRStore(db, nil)
		if err != nil {
			t.Fatal(err)
		}
		data := postgres.NewGDPRData(db)
		return gdprtest.SagaEnv{
			Stores:       gdprtest.Stores{Requests: s, Policies: s, Holds: s, Keys: s, Archives: memgdpr.NewArchives(), Tx: db},
			Data:         data,
			Schemas:      data,
			SchemaExists: func() bool { return gdprSchemaExists(t, db, tenant) },
			Rows:         rows,
		}
	}})
}

func TestGDPRDataSubjectsAndRetention(t *testing.T) {
	ctx := context.Background()
	db := postgres.New(pgtest.Pool(t))
	if err := db.MigratePlatform(ctx); err != nil {
		t.Fatal(err)
	}
	a, b := eusaas.NewTenantID(), eusaas.NewTenantID()
	gdprSeed(t, db, a, 5, 2)
	gdprSeed(t, db, b, 3, 1)
	data := postgres.NewGDPRData(db)
	tables, err := data.Tables(ctx, a)
	require.NoError(t, err)
	// The seeded tables and the modules' own tables, subject columns by convention or by
	// 'gdpr:subject' comment; 'gdpr:secret' columns are not listed at all.
	var names []string
	for _, tb := range tables {
		names = append(names, tb.Name+":"+tb.SubjectColumn)
		if tb.Name == "auth_users" {
			require.NotContains(t, tb.Columns, "password_hash")
			require.Contains(t, tb.Columns, "email")
		}
	}
	require.Subset(t, names, []string{"notes:user_id", "tenant_info:", "users:id", "auth_users:id", "auth_sessions:user_id", "auth_invitations:"},
		"every table of the schema, the subject column by convention")

	u1 := "00000000-0000-4000-8000-000000000001"
	ok, err := data.HasSubject(ctx, a, u1)
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = data.HasSubject(ctx, a, "nobody")
	require.NoError(t, err)
	require.False(t, ok)

	var got []string
	for _, tb := range tables {
		if tb.Name != "notes" && tb.Name != "users" {
			continue
		}
		require.NoError(t, data.Scan(ctx, a, tb, []string{u1}, func(v eusaas.DataRow) error {
			got = append(got, tb.Name)
			return nil
		}))
	}
	require.Equal(t, []string{"notes", "notes", "users"}, got, "only the subject's rows; tables without a subject column skipped")

	// Retention: age a's users and notes, soft delete past the period, hard delete after grace.
	require.NoError(t, db.InTenantTx(ctx, a, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "UPDATE users SET created_at = now() - interval '400 days' WHERE email <> 'user1@example.eu'")
		return err
	}))
	p := gdpr.DefaultPolicy(a)
	p.PIIRetentionDays = 365
	now := time.Now()
	counts, err := data.EnforceRetention(ctx, a, p, now, 30*24*time.Hour)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"users.soft_deleted": 4}, counts)
	counts, err = data.EnforceRetention(ctx, a, p, now, 30*24*time.Hour)
	require.NoError(t, err)
	require.Empty(t, counts, "idempotent")
	// Four users are expired but their notes (not expired) still reference them: the hard
	// deletion waits instead of failing. Once the notes are soft-deleted too, both go, the
	// notes first.
	counts, err = data.EnforceRetention(ctx, a, p, now.Add(31*24*time.Hour), 30*24*time.Hour)
	require.NoError(t, err)
	require.Empty(t, counts, "referenced rows stay")
	require.NoError(t, db.InTenantTx(ctx, a, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "UPDATE notes SET deleted_at = $2 WHERE user_id <> $1", u1, now)
		return err
	}))
	counts, err = data.EnforceRetention(ctx, a, p, now.Add(31*24*time.Hour), 30*24*time.Hour)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"users.hard_deleted": 4, "notes.hard_deleted": 8}, counts)

	// Tenant b untouched.
	deleted, err := data.DeleteAll(ctx, b)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"notes": 3, "tenant_info": 0, "users": 3}, gdprSeededCounts(t, deleted))
	deleted, err = data.DeleteAll(ctx, b)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"notes": 0, "tenant_info": 0, "users": 0}, gdprSeededCounts(t, deleted), "idempotent")
	require.NoError(t, data.DropSchema(ctx, b))
	require.NoError(t, data.DropSchema(ctx, b))
	deleted, err = data.DeleteAll(ctx, b)
	require.NoError(t, err)
	require.Empty(t, deleted, "a dropped schema has nothing left")
}

// gdprSeededCounts keeps the counts of the tables gdprSeed made; the modules' own tables of
// the tenant schema are empty here and must have been counted as such.
func gdprSeededCounts(t *testing.T, m map[string]int) map[string]int {
	t.Helper()
	out := map[string]int{}
	for k, v := range m {
		switch k {
		case "notes", "tenant_info", "users":
			out[k] = v
		default:
			require.Zero(t, v, "table %s", k)
		}
	}
	return out
}

// Sessions and invitations have no deleted_at but expire by their own expires_at: retention
// deletes them once expired for longer than the grace period, and touches nothing else.
func TestGDPRDataRetentionExpiredAuthRows(t *testing.T) {
	ctx := context.Background()
	db := postgres.New(pgtest.Pool(t))
	require.NoError(t, db.MigratePlatform(ctx))
	a, b := eusaas.NewTenantID(), eusaas.NewTenantID()
	now := time.Now().UTC()
	grace := 30 * 24 * time.Hour
	for _, tenant := range []eusaas.TenantID{a, b} {
		require.NoError(t, db.CreateTenantSchema(ctx, tenant))
		require.NoError(t, db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
			for i, exp := range []time.Time{now.Add(-grace - time.Hour), now.Add(-time.Hour), now.Add(time.Hour)} {
				if _, err := tx.Exec(ctx, `INSERT INTO auth_sessions (id, user_id, counter, token_hash, created_at, rotated_at, expires_at)
					VALUES (gen_random_uuid(), gen_random_uuid(), 0, '\x00', $1, $1, $2)`, exp.Add(-time.Hour), exp); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, `INSERT INTO auth_invitations (id, email, role, token_hash, created_by, created_at, expires_at)
					VALUES (gen_random_uuid(), $1, 'MEMBER', $2, 'system', $3, $4)`, fmt.Sprintf("p%d@example.eu", i), []byte{byte(i)}, exp.Add(-time.Hour), exp); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	data := postgres.NewGDPRData(db)
	counts, err := data.EnforceRetention(ctx, a, gdpr.DefaultPolicy(a), now, grace)
	require.NoError(t, err)
	require.Equal(t, map[string]int{"auth_sessions.hard_deleted": 1, "auth_invitations.hard_deleted": 1}, counts,
		"only rows expired for longer than the grace period")
	counts, err = data.EnforceRetention(ctx, a, gdpr.DefaultPolicy(a), now, grace)
	require.NoError(t, err)
	require.Empty(t, counts, "idempotent")
	for tenant, want := range map[eusaas.TenantID]int{a: 2, b: 3} {
		require.NoError(t, db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
			for _, table := range []string{"auth_sessions", "auth_invitations"} {
				var n int
				if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
					return err
				}
				require.Equal(t, want, n, "%s of tenant %s", table, tenant)
			}
			return nil
		}))
	}
}

// TestGDPRDataTypedScan: Scan hands every column as its eusaas.DataRow value, mapped from
// the column's Postgres type; a row of NULLs comes back as nils; the subject filter works on
// a uuid subject column; and an export of the table through the gdpr encoders is valid.
func TestGDPRDataTypedScan(t *testing.T) {
	ctx := context.Background()
	db := postgres.New(pgtest.Pool(t))
	require.NoError(t, db.MigratePlatform(ctx))
	tenant := eusaas.NewTenantID()
	require.NoError(t, db.CreateTenantSchema(ctx, tenant))
	const subject = "00000000-0000-4000-8000-000000000007"
	require.NoError(t, db.InTenantTx(ctx, tenant, func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `
			CREATE TYPE mood AS ENUM ('calm', 'busy');
			CREATE TABLE typed (
				user_id uuid, i2 smallint, i4 integer, i8 bigint, f4 real, f8 double precision,
				num numeric, num_scaled numeric(12,4), b boolean, t text, vc varchar(20), ch char(3),
				ip inet, net cidr, m mood, ts timestamptz, tsl timestamp, d date, j json, jb jsonb,
				by bytea, ia integer[], ta text[], na numeric[], da date[], iv interval, tsinf timestamptz);
			INSERT INTO typed (user_id) VALUES (NULL);`)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO typed VALUES (
				$1, -32768, 2147483647, -9223372036854775808, 1.5, 4.25,
				'123456789012345678901234567890.000000001', 12.5, true, 'Grüße, "du"', 'v', 'ab',
				'192.168.0.1', '10.0.0.0/8', 'busy', '2026-10-05 11:30:15.123456+02', '2026-10-05 09:30:15.5', '2026-10-04',
				'{"b": 1, "a": [true, null]}', '{"user": "u1", "region": "eu", "n": 1.50}',
				'\x00ff10', '{1,2,NULL}', '{"a,b",c}', '{1.50,2}', '{2026-01-31}', '1 day 02:00:00', 'infinity')`, subject)
		return err
	}))
	data := postgres.NewGDPRData(db)
	tables, err := data.Tables(ctx, tenant)
	require.NoError(t, err)
	var tb gdpr.Table
	for _, x := range tables {
		if x.Name == "typed" {
			tb = x
		}
	}
	require.Equal(t, "user_id", tb.SubjectColumn)
	var rows []eusaas.DataRow
	require.NoError(t, data.Scan(ctx, tenant, tb, nil, func(r eusaas.DataRow) error {
		rows = append(rows, slices.Clone(r))
		return nil
	}))
	require.Len(t, rows, 2)
	if rows[0][0] == nil { // heap order: the NULL row was inserted first
		rows[0], rows[1] = rows[1], rows[0]
	}
	want := eusaas.DataRow{
		subject, int64(-32768), int64(2147483647), int64(-9223372036854775808), float64(1.5), float64(4.25),
		eusaas.Decimal("123456789012345678901234567890.000000001"), eusaas.Decimal("12.5000"), true, `Grüße, "du"`, "v", "ab ",
		"192.168.0.1", "10.0.0.0/8", "busy",
		time.Date(2026, 10, 5, 9, 30, 15, 123456000, time.UTC), time.Date(2026, 10, 5, 9, 30, 15, 500000000, time.UTC), eusaas.Date("2026-10-04"),
		json.RawMessage(`{"b": 1, "a": [true, null]}`), json.RawMessage(`{"n": 1.50, "user": "u1", "region": "eu"}`),
		"AP8Q", json.RawMessage(`[1,2,null]`), json.RawMessage(`["a,b","c"]`), json.RawMessage(`["1.50","2"]`), json.RawMessage(`["2026-01-31"]`),
		"1 day 02:00:00", "infinity",
	}
	require.Len(t, rows[0], len(tb.Columns))
	for i, c := range tb.Columns {
		require.Equal(t, want[i], rows[0][i], "column %s", c)
		if tm, ok := rows[0][i].(time.Time); ok {
			require.Equal(t, time.UTC, tm.Location(), "column %s", c)
		}
		require.Nil(t, rows[1][i], "NULL column %s", c)
	}
	n := 0
	require.NoError(t, data.Scan(ctx, tenant, tb, []string{subject}, func(eusaas.DataRow) error { n++; return nil }))
	require.Equal(t, 1, n, "subject filter on a uuid column")
	// Some columns only (an export without secrets): the values follow the asked columns.
	part := gdpr.Table{Name: "typed", Columns: []string{"i8", "d"}, SubjectColumn: "user_id"}
	var got []eusaas.DataRow
	require.NoError(t, data.Scan(ctx, tenant, part, []string{subject}, func(r eusaas.DataRow) error {
		got = append(got, slices.Clone(r))
		return nil
	}))
	require.Equal(t, []eusaas.DataRow{{int64(-9223372036854775808), eusaas.Date("2026-10-04")}}, got)
}
