package postgres

import (
	"fmt"
	"strings"
)

// SplitStatements splits a SQL script into its statements, the way psql does: a semicolon
// ends a statement unless it is inside a single-quoted string (a doubled quote escapes a
// quote), an E-prefixed string (backslash escapes too), a double-quoted identifier, a dollar-quoted string
// ($$ ... $$ or $tag$ ... $tag$), a -- comment, a /* */ comment (nested, as in Postgres), or
// the BEGIN ATOMIC ... END body of a CREATE FUNCTION / PROCEDURE.
//
// Why: Citus forwards the original query string of DDL on a distributed table to the
// workers as a prepared statement, which must be one command (citusdata/citus#6608), so
// every migration is executed one statement per round trip. Each returned statement is
// trimmed, keeps its comments and loses its terminating semicolon; pieces holding only
// whitespace and comments are dropped. An unterminated quote, identifier, dollar quote or
// block comment is an error (a migration cut short must not run half).
func SplitStatements(script string) ([]string, error) {
	var out []string
	start := 0 // start of the current statement
	// Keyword tracking for BEGIN ATOMIC bodies: the first words of the statement and the
	// BEGIN/CASE ... END depth once the statement is known to be a function definition.
	var words []string
	routine := false
	depth := 0
	hasCode := false // the current piece has something other than whitespace and comments

	emit := func(end int) {
		if hasCode {
			out = append(out, strings.Trim(script[start:end], sqlSpace))
		}
		start, words, routine, depth, hasCode = end+1, words[:0], false, 0, false
	}

	n := len(script)
	for i := 0; i < n; {
		c := script[i]
		switch {
		case c == '-' && i+1 < n && script[i+1] == '-':
			j := strings.IndexByte(script[i:], '\n')
			if j < 0 {
				i = n
			} else {
				i += j + 1
			}
			continue
		case c == '/' && i+1 < n && script[i+1] == '*':
			lvl, j := 1, i+2
			for j < n && lvl > 0 {
				switch {
				case script[j] == '/' && j+1 < n && script[j+1] == '*':
					lvl++
					j += 2
				case script[j] == '*' && j+1 < n && script[j+1] == '/':
					lvl--
					j += 2
				default:
					j++
				}
			}
			if lvl > 0 {
				return nil, fmt.Errorf("postgres: unterminated /* comment at offset %d", i)
			}
			i = j
			continue
		case c == ';' && depth == 0:
			emit(i)
			i++
			continue
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
			continue
		}
		hasCode = true
		switch {
		case c == '\'':
			j, err := skipQuoted(script, i, '\'', false)
			if err != nil {
				return nil, err
			}
			i = j
		case c == '"':
			j, err := skipQuoted(script, i, '"', false)
			if err != nil {
				return nil, err
			}
			i = j
		case c == '$' && (i == 0 || !identChar(script[i-1])):
			tag, ok := dollarTag(script, i)
			if !ok { // a parameter ($1) or a lone $
				i++
				continue
			}
			j := strings.Index(script[i+len(tag):], tag)
			if j < 0 {
				return nil, fmt.Errorf("postgres: unterminated dollar-quoted string %s at offset %d", tag, i)
			}
			i += len(tag) + j + len(tag)
		case identStart(c):
			j := i
			for j < n && identChar(script[j]) {
				j++
			}
			word := script[i:j]
			// E'...' (and e'...'): backslash escapes. Only when E is a word of its own.
			if (word == "E" || word == "e") && j < n && script[j] == '\'' {
				k, err := skipQuoted(script, j, '\'', true)
				if err != nil {
					return nil, err
				}
				i = k
				continue
			}
			i = j
			w := strings.ToUpper(word)
			if len(words) < 4 {
				words = append(words, w)
				routine = routine || isRoutineHead(words)
			}
			if routine {
				switch w {
				case "BEGIN", "CASE":
					depth++
				case "END":
					if depth > 0 {
						depth--
					}
				}
			}
		default:
			i++
		}
	}
	emit(n)
	return out, nil
}

// skipQuoted returns the offset just past the quoted string or identifier starting at
// s[i] == q. A doubled quote is an escaped quote; with backslash, \x escapes x (E-prefixed strings).
func skipQuoted(s string, i int, q byte, backslash bool) (int, error) {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			if backslash {
				j++
			}
		case q:
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j + 1, nil
		}
	}
	what := "string"
	if q == '"' {
		what = "quoted identifier"
	}
	return 0, fmt.Errorf("postgres: unterminated %s at offset %d", what, i)
}

// dollarTag returns the opening $tag$ at s[i] == '$' (tag: letters, digits after the first,
// underscores, non-ASCII bytes, as Postgres's lexer allows), or false when s[i] starts none.
func dollarTag(s string, i int) (string, bool) {
	for j := i + 1; j < len(s); j++ {
		c := s[j]
		if c == '$' {
			return s[i : j+1], true
		}
		if !(identStart(c) || (j > i+1 && c >= '0' && c <= '9')) {
			return "", false
		}
	}
	return "", false
}

// sqlSpace is the whitespace of Postgres's lexer (not Unicode's: U+00A0 is an identifier byte).
const sqlSpace = " \t\n\r\f\v"

func identStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}

func identChar(c byte) bool { return identStart(c) || (c >= '0' && c <= '9') || c == '$' }

// isRoutineHead reports whether the statement's first words make it CREATE [OR REPLACE]
// FUNCTION or PROCEDURE, whose SQL-standard body (BEGIN ATOMIC ... END) holds semicolons.
func isRoutineHead(w []string) bool {
	if len(w) < 2 || w[0] != "CREATE" {
		return false
	}
	if w[1] == "FUNCTION" || w[1] == "PROCEDURE" {
		return true
	}
	return len(w) >= 4 && w[1] == "OR" && w[2] == "REPLACE" && (w[3] == "FUNCTION" || w[3] == "PROCEDURE")
}
