package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"

	"github.com/eusaas/eusaas"
)

// The edge refuses input the domain and the stores cannot represent faithfully. encoding/json
// is lenient where a contract must not be: it lets the last of two duplicate keys win (so a
// proxy and the server can read different values from one body), matches field names
// case-insensitively, and silently replaces invalid UTF-8 and lone surrogates with U+FFFD
// (two different idempotency keys can then collide). A NUL byte is valid JSON and valid
// UTF-8 but PostgreSQL text cannot store it. All of these are refused here with a 422
// naming the location, before any handler runs.

// strictJSON is the application/json format of the API: responses as huma's default,
// requests decoded strictly.
var strictJSON = huma.Format{
	Marshal:   huma.DefaultJSONFormat.Marshal,
	Unmarshal: strictUnmarshal,
}

// Errors found at a known place are "<location>: <message>", location starting with "body";
// humaProblem splits them so the problem names the field (huma itself only knows "body").

// strictUnmarshal is json.Unmarshal after strict checks. huma calls it twice per body: once
// into *any for schema validation, once into the operation's input type.
func strictUnmarshal(data []byte, v any) error {
	if err := checkJSONText(data); err != nil {
		return err
	}
	parsed, err := parseStrict(data)
	if err != nil {
		return err
	}
	if p, ok := v.(*any); ok {
		*p = parsed
		return nil
	}
	if err := checkFieldCase(parsed, reflect.TypeOf(v), "body"); err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// checkJSONText refuses invalid UTF-8 and the escapes encoding/json would turn into NUL or
// U+FFFD (\u0000, lone surrogates). Backslashes only occur inside strings in valid JSON;
// invalid JSON is refused by the parser anyway.
func checkJSONText(data []byte) error {
	if !utf8.Valid(data) {
		return errors.New("the body is not valid UTF-8")
	}
	for i := 0; i < len(data); i++ {
		if data[i] != '\\' || i+1 >= len(data) {
			continue
		}
		if data[i+1] != 'u' {
			i++ // skip the escaped character, which may be another backslash
			continue
		}
		h, ok := hex4(data, i+2)
		if !ok {
			return errors.New("invalid \\u escape in the body")
		}
		switch {
		case h == 0:
			i += 5 // parseValue reports it with its location
		case h >= 0xD800 && h <= 0xDBFF:
			lo, ok := uint16(0), false
			if i+7 < len(data) && data[i+6] == '\\' && data[i+7] == 'u' {
				lo, ok = hex4(data, i+8)
			}
			if !ok || lo < 0xDC00 || lo > 0xDFFF {
				return errors.New("a lone UTF-16 surrogate escape is not valid Unicode")
			}
			i += 11
		case h >= 0xDC00 && h <= 0xDFFF:
			return errors.New("a lone UTF-16 surrogate escape is not valid Unicode")
		default:
			i += 5
		}
	}
	return nil
}

func hex4(b []byte, at int) (uint16, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var v uint16
	for _, c := range b[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		v = v<<4 | uint16(c)
	}
	return v, true
}

// parseStrict decodes one JSON value the way json.Unmarshal into any does (float64 numbers,
// map[string]any objects) but refuses duplicate object keys and trailing data.
func parseStrict(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	v, err := parseValue(dec, "body", 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

// maxJSONDepth bounds nesting so a hostile body cannot exhaust the stack.
const maxJSONDepth = 64

func parseValue(dec *json.Decoder, loc string, depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, fmt.Errorf("%s: nests deeper than %d levels", loc, maxJSONDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonSyntax(err)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			m := map[string]any{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, jsonSyntax(err)
				}
				k, _ := kt.(string)
				if _, dup := m[k]; dup {
					return nil, fmt.Errorf("%s: duplicate key %q", loc, clip(k))
				}
				if strings.IndexByte(k, 0) >= 0 {
					return nil, fmt.Errorf("%s: NUL characters are not allowed in keys", loc)
				}
				v, err := parseValue(dec, loc+"."+clip(k), depth+1)
				if err != nil {
					return nil, err
				}
				m[k] = v
			}
			if _, err := dec.Token(); err != nil {
				return nil, jsonSyntax(err)
			}
			return m, nil
		case '[':
			a := []any{}
			for i := 0; dec.More(); i++ {
				v, err := parseValue(dec, fmt.Sprintf("%s[%d]", loc, i), depth+1)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, jsonSyntax(err)
			}
			return a, nil
		}
		return nil, errors.New("malformed JSON")
	case string:
		if strings.IndexByte(t, 0) >= 0 {
			return nil, fmt.Errorf("%s: NUL characters are not allowed", loc)
		}
		return t, nil
	default:
		return t, nil // float64, bool or nil
	}
}

// jsonSyntax keeps the decoder's message (it names the offset, never echoes the value).
func jsonSyntax(err error) error {
	if err == io.EOF {
		return errors.New("unexpected end of JSON input")
	}
	return err
}

// clip bounds a client-supplied key before it is echoed in a problem.
func clip(s string) string {
	if len(s) > 64 {
		s = s[:64]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		return s + "..."
	}
	return s
}

// jsonFields are the exact JSON names of a struct type's fields (embedded structs
// flattened), by lower-case name, with each field's type.
type jsonFields map[string]struct {
	name string
	typ  reflect.Type
}

var fieldCache sync.Map // reflect.Type -> jsonFields

func fieldsOf(t reflect.Type) jsonFields {
	if f, ok := fieldCache.Load(t); ok {
		return f.(jsonFields)
	}
	out := jsonFields{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			tag := sf.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			ft := sf.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if sf.Anonymous && name == "" && ft.Kind() == reflect.Struct {
				walk(ft)
				continue
			}
			if !sf.IsExported() {
				continue
			}
			if name == "" {
				name = sf.Name
			}
			out[strings.ToLower(name)] = struct {
				name string
				typ  reflect.Type
			}{name, sf.Type}
		}
	}
	walk(t)
	fieldCache.Store(t, out)
	return out
}

// checkFieldCase refuses an object key that encoding/json would match to a field of another
// case ("Role" for "role"): the contract's field names are exact.
func checkFieldCase(v any, t reflect.Type, loc string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) {
		return nil // the type decodes itself
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		fields := fieldsOf(t)
		for k, val := range m {
			f, ok := fields[strings.ToLower(k)]
			if !ok {
				continue
			}
			if f.name != k {
				return fmt.Errorf("%s.%s: unknown field (field names are case-sensitive: %q)", loc, clip(k), f.name)
			}
			if err := checkFieldCase(val, f.typ, loc+"."+k); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		a, ok := v.([]any)
		if !ok {
			return nil
		}
		for i, e := range a {
			if err := checkFieldCase(e, t.Elem(), fmt.Sprintf("%s[%d]", loc, i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		for k, e := range m {
			if err := checkFieldCase(e, t.Elem(), loc+"."+clip(k)); err != nil {
				return err
			}
		}
	}
	return nil
}

// inputHeaders are the request headers operations read as input. Their values must be valid
// UTF-8: a header is bytes on the wire, and a non-UTF-8 value would reach a store that
// cannot hold it or compare unequal to what the client meant.
// They are in canonical form, so the lookups allocate nothing.
var inputHeaders = []string{"Authorization", "X-Tenant-Id", "If-Match", "If-None-Match", "Content-Type", "Idempotency-Key"}

// headerNames are the input headers as the document spells them.
var headerNames = map[string]string{"Authorization": "Authorization", "X-Tenant-Id": "X-Tenant-ID", "If-Match": "If-Match",
	"If-None-Match": "If-None-Match", "Content-Type": "Content-Type", "Idempotency-Key": "Idempotency-Key"}

// checkInput refuses, before routing, request input no operation can use: NUL bytes or
// invalid UTF-8 in the path, the query or an input header (422), and a body in a charset
// other than UTF-8 (415). It returns nil when the request may proceed.
func checkInput(ctx context.Context, r *http.Request) *Problem {
	if bad(r.URL.Path) {
		return inputProblem(ctx, "path", "the path must be valid UTF-8 without NUL characters")
	}
	if raw := r.URL.RawQuery; raw != "" {
		q, err := url.QueryUnescape(raw)
		if err != nil {
			return inputProblem(ctx, "query", "the query string has a malformed percent-escape")
		}
		if bad(q) {
			return inputProblem(ctx, "query", "query parameters must be valid UTF-8 without NUL characters")
		}
	}
	for _, h := range inputHeaders {
		for _, v := range r.Header[h] {
			if bad(v) {
				return inputProblem(ctx, "header."+headerNames[h], "the header must be valid UTF-8 without NUL characters")
			}
		}
	}
	if ct := r.Header.Get("Content-Type"); strings.IndexByte(ct, ';') >= 0 {
		_, params, err := mime.ParseMediaType(ct)
		if err != nil {
			return newProblem(ctx, http.StatusUnsupportedMediaType, "",
				"the Content-Type header is malformed")
		}
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
			return newProblem(ctx, http.StatusUnsupportedMediaType, "",
				"request bodies must be UTF-8 (Content-Type charset=utf-8 or none)")
		}
	}
	return nil
}

// cleanText makes a free-form header (User-Agent) storable: it is recorded, never matched,
// so invalid bytes are replaced rather than the request refused.
func cleanText(s string) string {
	if !bad(s) {
		return s
	}
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
}

// bad reports a string that is not valid UTF-8 or holds a NUL.
func bad(s string) bool {
	return strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s)
}

func inputProblem(ctx context.Context, loc, msg string) *Problem {
	p := newProblem(ctx, http.StatusUnprocessableEntity, "", "request validation failed")
	p.Errors = []eusaas.FieldViolation{{Location: loc, Message: msg}}
	return p
}
