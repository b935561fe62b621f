package postgres

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"
)

func TestSplitStatements(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"only whitespace and comments", " \n-- a;\n/* b; */ ;; \n", nil},
		{"one without semicolon", "SELECT 1", []string{"SELECT 1"}},
		{"two", "SELECT 1; SELECT 2;", []string{"SELECT 1", "SELECT 2"}},
		{"two on lines", "CREATE TABLE a (x int);\nCREATE INDEX ON a (x);\n", []string{"CREATE TABLE a (x int)", "CREATE INDEX ON a (x)"}},
		{"single quotes", "SELECT 'a;b'; SELECT 'it''s;'", []string{"SELECT 'a;b'", "SELECT 'it''s;'"}},
		{"backslash is literal in a plain string", `SELECT 'a\'; SELECT 2`, []string{`SELECT 'a\'`, "SELECT 2"}},
		{"E string", `SELECT E'a\';b'; SELECT 2`, []string{`SELECT E'a\';b'`, "SELECT 2"}},
		{"lower-case e string", `SELECT e'\\'; SELECT 2`, []string{`SELECT e'\\'`, "SELECT 2"}},
		{"identifier ending in e is no E string", `SELECT some'a\'; SELECT 2`, []string{`SELECT some'a\'`, "SELECT 2"}},
		{"E string with doubled quote", `SELECT E'x'';y'; SELECT 2`, []string{`SELECT E'x'';y'`, "SELECT 2"}},
		{"double-quoted identifier", `CREATE TABLE "a;b" ("c""d;" int); SELECT 1`, []string{`CREATE TABLE "a;b" ("c""d;" int)`, "SELECT 1"}},
		{"quote inside identifier", `SELECT "it's"; SELECT 2`, []string{`SELECT "it's"`, "SELECT 2"}},
		{"dollar quoting", "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$; SELECT 2",
			[]string{"CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$", "SELECT 2"}},
		{"tagged dollar quoting holding $$", "DO $body$ BEGIN PERFORM $$;$$; END $body$; SELECT 2",
			[]string{"DO $body$ BEGIN PERFORM $$;$$; END $body$", "SELECT 2"}},
		{"dollar tag with digits and underscore", "SELECT $a_1$;$a_1$; SELECT 2", []string{"SELECT $a_1$;$a_1$", "SELECT 2"}},
		{"positional parameter is no dollar quote", "SELECT $1; SELECT $2", []string{"SELECT $1", "SELECT $2"}},
		{"dollar inside an identifier is no dollar quote", "SELECT a$b$; SELECT 2", []string{"SELECT a$b$", "SELECT 2"}},
		{"line comment", "SELECT 1 -- not the end;\n; SELECT 2", []string{"SELECT 1 -- not the end;", "SELECT 2"}},
		{"line comment at end of input", "SELECT 1; -- tail", []string{"SELECT 1"}},
		{"leading comment stays with its statement", "-- create a\nCREATE TABLE a (x int);", []string{"-- create a\nCREATE TABLE a (x int)"}},
		{"block comment", "SELECT /* ; */ 1; SELECT 2", []string{"SELECT /* ; */ 1", "SELECT 2"}},
		{"nested block comment", "SELECT /* a /* b; */ c; */ 1; SELECT 2", []string{"SELECT /* a /* b; */ c; */ 1", "SELECT 2"}},
		{"quote inside a comment", "SELECT 1 /* don't */; -- it's\nSELECT 2", []string{"SELECT 1 /* don't */", "-- it's\nSELECT 2"}},
		{"comment markers inside strings", "SELECT '--;', '/*;'; SELECT 2", []string{"SELECT '--;', '/*;'", "SELECT 2"}},
		{"BEGIN ATOMIC body", "CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 END; END; SELECT 3",
			[]string{"CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 END; END", "SELECT 3"}},
		{"CREATE OR REPLACE PROCEDURE body", "create or replace procedure p() begin atomic insert into t values (1); end; select 1",
			[]string{"create or replace procedure p() begin atomic insert into t values (1); end", "select 1"}},
		{"BEGIN as a transaction is not a body", "BEGIN; SELECT 1; END;", []string{"BEGIN", "SELECT 1", "END"}},
		{"non-ASCII", "SELECT 'é;'; SELECT \"ü;\"", []string{"SELECT 'é;'", "SELECT \"ü;\""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SplitStatements(tc.in)
			require.NoError(t, err)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("SplitStatements(%q) (-want +got):\n%s", tc.in, diff)
			}
		})
	}
}

func TestSplitStatementsUnterminated(t *testing.T) {
	for _, in := range []string{
		"SELECT 'abc",
		`SELECT E'abc\'`,
		`SELECT "abc`,
		"SELECT $$abc",
		"SELECT $x$abc$$",
		"SELECT /* a /* b */",
	} {
		_, err := SplitStatements(in)
		require.Error(t, err, "%q", in)
	}
}

// Every embedded migration splits cleanly, and every statement splits into itself.
func TestSplitStatementsMigrations(t *testing.T) {
	for _, dir := range []string{"migrations/tenant", "migrations/platform"} {
		fsys := tenantMigrationFiles
		if dir == "migrations/platform" {
			fsys = platformMigrations
		}
		entries, err := fs.ReadDir(fsys, dir)
		require.NoError(t, err)
		for _, e := range entries {
			b, err := fs.ReadFile(fsys, dir+"/"+e.Name())
			require.NoError(t, err)
			stmts, err := SplitStatements(string(b))
			require.NoError(t, err, e.Name())
			require.NotEmpty(t, stmts, e.Name())
			for _, s := range stmts {
				again, err := SplitStatements(s)
				require.NoError(t, err)
				require.Equal(t, []string{s}, again, "%s: a statement must split into itself", e.Name())
			}
		}
	}
}

// FuzzSplitStatements: never panics; statements are non-empty, trimmed substrings of the
// input in order, and each splits into exactly itself.
func FuzzSplitStatements(f *testing.F) {
	for _, s := range []string{
		"SELECT 1; SELECT 2", "SELECT 'a;''b'; SELECT E'\\';'", `CREATE TABLE "x;""y" (a int)`,
		"DO $t$ BEGIN PERFORM 1; END $t$; SELECT $1", "SELECT /* /* ; */ */ 1 -- ;\n; x",
		"CREATE FUNCTION f() BEGIN ATOMIC SELECT 1; END; SELECT 2", "$", "$$", "'", "/*", "E'", "a$b$c;",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		stmts, err := SplitStatements(in)
		if err != nil {
			return
		}
		rest := in
		for _, s := range stmts {
			if s == "" || strings.Trim(s, sqlSpace) != s {
				t.Fatalf("statement %q is empty or untrimmed", s)
			}
			i := strings.Index(rest, s)
			if i < 0 {
				t.Fatalf("statement %q is not in the input after the previous one", s)
			}
			rest = rest[i+len(s):]
			again, err := SplitStatements(s)
			if err != nil {
				t.Fatalf("statement %q fails to split again: %v", s, err)
			}
			if len(again) != 1 || again[0] != s {
				t.Fatalf("statement %q splits into %q", s, again)
			}
		}
	})
}
