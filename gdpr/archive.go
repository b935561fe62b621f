package gdpr

import (
	"archive/zip"
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"hash"
	"io"
	"math"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/eusaas/eusaas"
)

// Manifest describes an export archive. It is stored as manifest.json and signed with
// Ed25519 (manifest.sig holds the base64 signature of manifest.json's exact bytes).
type Manifest struct {
	Version   int            `json:"version"`
	TenantID  string         `json:"tenant_id"`
	RequestID string         `json:"request_id"`
	Format    Format         `json:"format"`
	Subjects  []string       `json:"data_subjects,omitempty"`
	CreatedAt time.Time      `json:"created_at"`
	Tables    []string       `json:"tables"`
	Files     []ManifestFile `json:"files"`
	// Schema names the member describing every other file (JSON Schema 2020-12); it is
	// listed in Files like any other.
	Schema string `json:"schema,omitempty"`
	// SigningKey is the base64 Ed25519 public key that signed the manifest; verifiers
	// compare it with the published key.
	SigningKey string `json:"signing_key"`
}

// ManifestFile is one file of the archive.
type ManifestFile struct {
	Name   string `json:"name"`
	Table  string `json:"table,omitempty"`
	Rows   int64  `json:"rows"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Archive member names.
const (
	ManifestName  = "manifest.json"
	SignatureName = "manifest.sig"
)

// archiveWriter streams an export archive: one zip member per file, hashed and counted on
// the way through; memory stays flat whatever the row count.
type archiveWriter struct {
	zw       *zip.Writer
	manifest Manifest
	key      ed25519.PrivateKey
	schemas  []*tableSchema
}

// describeTable starts the schema of a data file; the caller observes every row written.
func (a *archiveWriter) describeTable(file, table string, cols []string) *tableSchema {
	ts := &tableSchema{file: file, table: table, cols: cols, kinds: make([]uint16, len(cols))}
	a.schemas = append(a.schemas, ts)
	return ts
}

// describeFile gives a file of fixed shape its schema.
func (a *archiveWriter) describeFile(file string, schema map[string]any) {
	a.schemas = append(a.schemas, &tableSchema{file: file, fixed: schema})
}

func newArchiveWriter(w io.Writer, m Manifest, key ed25519.PrivateKey) *archiveWriter {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestSpeed)
	})
	m.Version = 1
	m.SigningKey = base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))
	return &archiveWriter{zw: zw, manifest: m, key: key}
}

// member is a file being written: bytes go to the zip and the hash.
type member struct {
	bw    *bufio.Writer
	h     hash.Hash
	count *countWriter
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (a *archiveWriter) create(name string) (*member, error) {
	zf, err := a.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: a.manifest.CreatedAt})
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(zf, h)}
	return &member{bw: bufio.NewWriterSize(cw, 64<<10), h: h, count: cw}, nil
}

func (a *archiveWriter) finish(m *member, name, table string, rows int64) error {
	if err := m.bw.Flush(); err != nil {
		return err
	}
	a.manifest.Files = append(a.manifest.Files, ManifestFile{Name: name, Table: table, Rows: rows,
		Bytes: m.count.n, SHA256: hex.EncodeToString(m.h.Sum(nil))})
	return nil
}

// close writes schema.json, the signed manifest and the zip directory.
func (a *archiveWriter) close() error {
	if len(a.schemas) > 0 {
		doc, err := json.MarshalIndent(a.schemaDocument(), "", "  ")
		if err != nil {
			return err
		}
		m, err := a.create(SchemaName)
		if err != nil {
			return err
		}
		if _, err := m.bw.Write(append(doc, '\n')); err != nil {
			return err
		}
		if err := a.finish(m, SchemaName, "", 0); err != nil {
			return err
		}
		a.manifest.Schema = SchemaName
	}
	body, err := json.MarshalIndent(a.manifest, "", "  ")
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{ManifestName, body}, {SignatureName, []byte(base64.StdEncoding.EncodeToString(ed25519.Sign(a.key, body)))}} {
		w, err := a.zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Store, Modified: a.manifest.CreatedAt})
		if err != nil {
			return err
		}
		if _, err := w.Write(f.data); err != nil {
			return err
		}
	}
	return a.zw.Close()
}

// rowEncoder writes rows of one table in one format.
type rowEncoder interface {
	begin(cols []string) error
	row(values eusaas.DataRow) error
	end() error
}

func newEncoder(f Format, w *bufio.Writer, table string) rowEncoder {
	switch f {
	case FormatCSV:
		return &csvEncoder{w: w}
	case FormatXML:
		return &xmlEncoder{w: w, table: table}
	default:
		return &jsonEncoder{w: w}
	}
}

// Value rendering. The three formats carry the same values under one schema:
//
//	value            JSON                          CSV / XML text
//	nil (NULL)       null                          empty field / <column null="true"/>
//	string           string                        as is
//	bool             true / false                  "true" / "false"
//	int64            number                        decimal digits
//	float64          number (NaN, ±Inf: string     the JSON number's text ("NaN",
//	                 "NaN", "Infinity", ...)       "Infinity", "-Infinity")
//	time.Time        string, RFC 3339 UTC with     the same text
//	                 the fraction it has
//	eusaas.Date      string "YYYY-MM-DD"           the same text
//	eusaas.Decimal   string ("12.50"): exact, as   the same text
//	                 the API carries money and
//	                 quantities
//	json.RawMessage  the JSON itself, canonical:   the canonical JSON text
//	                 compact, object keys sorted,
//	                 numbers as written
//
// Canonical JSON makes an export independent of how a store keeps a JSON document (Postgres
// jsonb reorders keys and adds spaces; a memory store marshals Go values): the same data is
// the same bytes whatever the adapter. Any other Go type is refused (errUnsupportedValue): a
// store must map its values to the eusaas.DataRow set, not leave the renderer guessing.

// errUnsupportedValue is a value outside the eusaas.DataRow set.
type errUnsupportedValue struct{ v any }

func (e errUnsupportedValue) Error() string {
	return fmt.Sprintf("gdpr: value of type %T is not in the eusaas.DataRow value set", e.v)
}

// appendFloat appends f as encoding/json writes a float64 (shortest exact form, exponent
// notation outside [1e-6, 1e21)); NaN and infinities, which JSON has no number for, as
// "NaN", "Infinity", "-Infinity" (Postgres's spelling), quoted when quote is set.
func appendFloat(b []byte, f float64, quote bool) []byte {
	var special string
	switch {
	case math.IsNaN(f):
		special = "NaN"
	case math.IsInf(f, 1):
		special = "Infinity"
	case math.IsInf(f, -1):
		special = "-Infinity"
	}
	if special != "" {
		if quote {
			return append(append(append(b, '"'), special...), '"')
		}
		return append(b, special...)
	}
	fmtc := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		fmtc = 'e'
	}
	n := len(b)
	b = strconv.AppendFloat(b, f, fmtc, -1, 64)
	if fmtc == 'e' {
		// clean up e-09 to e-9, as encoding/json does
		if m := len(b) - n; m >= 4 && b[len(b)-4] == 'e' && b[len(b)-3] == '-' && b[len(b)-2] == '0' {
			b[len(b)-2] = b[len(b)-1]
			b = b[:len(b)-1]
		}
	}
	return b
}

// canonicalJSON re-encodes a JSON document compactly with sorted object keys, numbers kept
// as written and no HTML escaping.
func canonicalJSON(b []byte, raw json.RawMessage) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("gdpr: invalid JSON value: %w", err)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return append(b, bytes.TrimSuffix(out.Bytes(), []byte("\n"))...), nil
}

// appendText appends v's text form (the CSV/XML rendering); ok is false for NULL.
func appendText(b []byte, v any) ([]byte, bool, error) {
	switch x := v.(type) {
	case nil:
		return b, false, nil
	case string:
		return append(b, x...), true, nil
	case bool:
		return strconv.AppendBool(b, x), true, nil
	case int64:
		return strconv.AppendInt(b, x, 10), true, nil
	case float64:
		return appendFloat(b, x, false), true, nil
	case time.Time:
		return x.UTC().AppendFormat(b, time.RFC3339Nano), true, nil
	case eusaas.Date:
		return append(b, x...), true, nil
	case eusaas.Decimal:
		return append(b, x...), true, nil
	case json.RawMessage:
		if x == nil {
			return b, false, nil
		}
		out, err := canonicalJSON(b, x)
		return out, true, err
	}
	return b, false, errUnsupportedValue{v}
}

// appendJSONValue appends v as a JSON value (the JSON rendering).
func appendJSONValue(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendJSONString(b, []byte(x)), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case float64:
		return appendFloat(b, x, true), nil
	case time.Time:
		b = append(b, '"')
		return append(x.UTC().AppendFormat(b, time.RFC3339Nano), '"'), nil
	case eusaas.Date:
		return appendJSONString(b, []byte(x)), nil
	case eusaas.Decimal:
		return appendJSONString(b, []byte(x)), nil
	case json.RawMessage:
		if x == nil {
			return append(b, "null"...), nil
		}
		return canonicalJSON(b, x)
	}
	return b, errUnsupportedValue{v}
}

// jsonEncoder writes a JSON array of objects, column -> typed value.
type jsonEncoder struct {
	w    *bufio.Writer
	keys [][]byte
	n    int64
	buf  []byte
}

func (e *jsonEncoder) begin(cols []string) error {
	e.keys = make([][]byte, len(cols))
	for i, c := range cols {
		e.keys[i] = append(appendJSONString(nil, []byte(c)), ':')
	}
	_, err := e.w.WriteString("[")
	return err
}

func (e *jsonEncoder) row(values eusaas.DataRow) error {
	b := e.buf[:0]
	if e.n > 0 {
		b = append(b, ',')
	}
	b = append(b, "\n{"...)
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, e.keys[i]...)
		var err error
		if b, err = appendJSONValue(b, v); err != nil {
			return err
		}
	}
	b = append(b, '}')
	e.buf = b
	e.n++
	_, err := e.w.Write(b)
	return err
}

func (e *jsonEncoder) end() error {
	_, err := e.w.WriteString("\n]\n")
	return err
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendJSONString(b, s []byte) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// csvEncoder writes RFC 4180 CSV (CRLF-free: \n line ends, as encoding/csv does) with a
// header row; values in their text form, NULL as an empty field (so NULL and the empty
// string read the same in CSV: the JSON and XML renderings tell them apart). It quotes on
// raw bytes, without per-field strings.
type csvEncoder struct {
	w     *bufio.Writer
	buf   []byte
	field []byte
}

func csvAppendField(b, v []byte) []byte {
	needs := len(v) > 0 && (v[0] == ' ' || v[0] == '\t')
	for _, c := range v {
		if c == ',' || c == '"' || c == '\n' || c == '\r' {
			needs = true
			break
		}
	}
	if !needs {
		return append(b, v...)
	}
	b = append(b, '"')
	for _, c := range v {
		if c == '"' {
			b = append(b, '"')
		}
		b = append(b, c)
	}
	return append(b, '"')
}

func (e *csvEncoder) begin(cols []string) error {
	vals := make(eusaas.DataRow, len(cols))
	for i, c := range cols {
		vals[i] = c
	}
	return e.row(vals)
}

func (e *csvEncoder) row(values eusaas.DataRow) error {
	b := e.buf[:0]
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		f, _, err := appendText(e.field[:0], v)
		if err != nil {
			return err
		}
		e.field = f
		b = csvAppendField(b, f)
	}
	b = append(b, '\n')
	e.buf = b
	_, err := e.w.Write(b)
	return err
}

func (e *csvEncoder) end() error { return nil }

// xmlEncoder writes <table name=".."><row><column name="..">value</column>...</row></table>;
// column names are attributes because SQL names need not be valid XML names. Values are in
// their text form; NULL is <column name=".." null="true"/>.
type xmlEncoder struct {
	w     *bufio.Writer
	table string
	cols  [][]byte
	buf   bytes.Buffer
	field []byte
}

func (e *xmlEncoder) begin(cols []string) error {
	e.cols = make([][]byte, len(cols))
	for i, c := range cols {
		var b bytes.Buffer
		b.WriteString(`<column name="`)
		_ = xml.EscapeText(&b, []byte(c))
		b.WriteString(`"`)
		e.cols[i] = b.Bytes()
	}
	e.buf.Reset()
	e.buf.WriteString(xml.Header + `<table name="`)
	_ = xml.EscapeText(&e.buf, []byte(e.table))
	e.buf.WriteString("\">\n")
	_, err := e.w.Write(e.buf.Bytes())
	return err
}

func (e *xmlEncoder) row(values eusaas.DataRow) error {
	e.buf.Reset()
	e.buf.WriteString("<row>")
	for i, v := range values {
		e.buf.Write(e.cols[i])
		f, ok, err := appendText(e.field[:0], v)
		if err != nil {
			return err
		}
		e.field = f
		if !ok {
			e.buf.WriteString(` null="true"/>`)
			continue
		}
		e.buf.WriteByte('>')
		_ = xml.EscapeText(&e.buf, f)
		e.buf.WriteString("</column>")
	}
	e.buf.WriteString("</row>\n")
	_, err := e.w.Write(e.buf.Bytes())
	return err
}

func (e *xmlEncoder) end() error {
	_, err := e.w.WriteString("</table>\n")
	return err
}

// VerifyResult is what VerifyArchive found.
type VerifyResult struct {
	Manifest Manifest
	// KeyFromArchive is true when no public key was given and the signature was checked
	// against the key named in the manifest: compare it with the published key.
	KeyFromArchive bool
}

// VerifyArchive checks an export archive offline: the manifest's Ed25519 signature (with
// pub, or the key the manifest names when pub is nil), that every listed file is present
// with its SHA-256 and size, and that the archive holds no unlisted file. Any mismatch is
// ErrArchiveInvalid naming what failed.
func VerifyArchive(r io.ReaderAt, size int64, pub ed25519.PublicKey) (VerifyResult, error) {
	var res VerifyResult
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return res, ErrArchiveInvalid.With("not a readable zip archive").Wrap(err)
	}
	members := map[string]*zip.File{}
	for _, f := range zr.File {
		if _, dup := members[f.Name]; dup {
			return res, ErrArchiveInvalid.Withf("duplicate member %q", f.Name)
		}
		members[f.Name] = f
	}
	read := func(name string) ([]byte, error) {
		f, ok := members[name]
		if !ok {
			return nil, ErrArchiveInvalid.Withf("%s missing", name)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, ErrArchiveInvalid.Withf("%s unreadable", name).Wrap(err)
		}
		defer rc.Close()
		b, err := io.ReadAll(io.LimitReader(rc, 64<<20))
		if err != nil {
			return nil, ErrArchiveInvalid.Withf("%s unreadable", name).Wrap(err)
		}
		return b, nil
	}
	body, err := read(ManifestName)
	if err != nil {
		return res, err
	}
	sigText, err := read(SignatureName)
	if err != nil {
		return res, err
	}
	if err := json.Unmarshal(body, &res.Manifest); err != nil {
		return res, ErrArchiveInvalid.With("manifest is not valid JSON").Wrap(err)
	}
	if pub == nil {
		k, err := base64.StdEncoding.DecodeString(res.Manifest.SigningKey)
		if err != nil || len(k) != ed25519.PublicKeySize {
			return res, ErrArchiveInvalid.With("manifest names no valid signing key")
		}
		pub, res.KeyFromArchive = ed25519.PublicKey(k), true
	}
	sig, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(sigText)))
	if err != nil || !ed25519.Verify(pub, body, sig) {
		return res, ErrArchiveInvalid.With("manifest signature does not verify")
	}
	listed := map[string]bool{ManifestName: true, SignatureName: true}
	for _, mf := range res.Manifest.Files {
		listed[mf.Name] = true
		f, ok := members[mf.Name]
		if !ok {
			return res, ErrArchiveInvalid.Withf("%s listed in the manifest but missing", mf.Name)
		}
		rc, err := f.Open()
		if err != nil {
			return res, ErrArchiveInvalid.Withf("%s unreadable", mf.Name).Wrap(err)
		}
		h := sha256.New()
		n, err := io.Copy(h, rc)
		rc.Close()
		if err != nil {
			return res, ErrArchiveInvalid.Withf("%s corrupt", mf.Name).Wrap(err)
		}
		if n != mf.Bytes || hex.EncodeToString(h.Sum(nil)) != mf.SHA256 {
			return res, ErrArchiveInvalid.Withf("%s does not match its SHA-256", mf.Name)
		}
	}
	var extra []string
	for name := range members {
		if !listed[name] {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return res, ErrArchiveInvalid.Withf("%s is not listed in the manifest", extra[0])
	}
	return res, nil
}
