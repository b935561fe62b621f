// Package syslog ships audit entries to a SIEM as RFC 5424 syslog messages over TCP or TLS
// with octet-counting framing (RFC 6587 §3.4.1): "<length> <message>".
//
// Each entry is one message: PRI 110 (facility 13, log audit; severity 6, informational),
// the entry's timestamp, MSGID the action, structured data [eusaas@32473 ...] with the entry
// id, chain, seq, hash, action, actor, tenant and resource, and as MSG the entry as JSON
// (audit.EntryView: changes, personal values unless the exporter strips them).
package syslog

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/audit"
)

// Sink is an audit.EntrySink writing to one syslog receiver. It keeps one connection and
// reconnects after a failure.
type Sink struct {
	network, addr string
	tls           *tls.Config
	hostname      string
	appName       string
	timeout       time.Duration

	mu   sync.Mutex
	conn net.Conn
	w    *bufio.Writer
}

var _ audit.EntrySink = (*Sink)(nil)

// New parses rawURL (tcp://host:port or tls://host:port, APP_AUDIT_SYSLOG_URL). tlsConf is
// used for tls:// (nil: the system roots, server name from the URL).
func New(rawURL string, tlsConf *tls.Config) (*Sink, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || u.Port() == "" || (u.Scheme != "tcp" && u.Scheme != "tls") {
		return nil, eusaas.E(eusaas.InvalidArgument, "syslog URL must be tcp://host:port or tls://host:port")
	}
	host, _ := os.Hostname()
	if host == "" {
		host = "-"
	}
	s := &Sink{network: "tcp", addr: u.Host, hostname: host, appName: "eusaas", timeout: 10 * time.Second}
	if u.Scheme == "tls" {
		if tlsConf == nil {
			tlsConf = &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12}
		}
		s.tls = tlsConf
	}
	return s, nil
}

// sdEscape escapes a structured-data parameter value (RFC 5424 §6.3.3).
func sdEscape(v string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, `]`, `\]`).Replace(v)
}

// Format renders e as one RFC 5424 message (without framing).
func (s *Sink) Format(e audit.Entry) ([]byte, error) {
	body, err := json.Marshal(audit.NewEntryView(e))
	if err != nil {
		return nil, err
	}
	tenant := "-"
	if !e.TenantID.IsZero() {
		tenant = e.TenantID.String()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<110>1 %s %s %s - %s [eusaas@32473 id=\"%s\" chain=\"%s\" seq=\"%d\" hash=\"%s\" action=\"%s\" actor_kind=\"%s\" actor=\"%s\" tenant=\"%s\" resource_type=\"%s\" resource_id=\"%s\"] ",
		e.Timestamp.UTC().Format("2006-01-02T15:04:05.000000Z"), s.hostname, s.appName, e.Action,
		e.ID, e.Chain, e.Seq, e.Hash, sdEscape(e.Action), sdEscape(string(e.Actor.Kind)), sdEscape(e.Actor.ID), tenant,
		sdEscape(e.ResourceType), sdEscape(e.ResourceID))
	b.Write(body)
	return []byte(b.String()), nil
}

// Send implements audit.EntrySink: the batch is written octet-counted and flushed. A
// connection the receiver has closed is noticed before writing (a receiver restart must not
// swallow the first batch written into a dead socket) and replaced.
func (s *Sink) Send(ctx context.Context, entries []audit.Entry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil && !s.alive() {
		s.closeLocked()
	}
	if s.conn == nil {
		if err := s.dial(ctx); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(s.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = s.conn.SetWriteDeadline(deadline)
	for _, e := range entries {
		msg, err := s.Format(e)
		if err != nil {
			return err
		}
		if _, err := s.w.WriteString(strconv.Itoa(len(msg)) + " "); err != nil {
			s.closeLocked()
			return eusaas.E(eusaas.Unavailable, "syslog write failed").Wrap(err)
		}
		if _, err := s.w.Write(msg); err != nil {
			s.closeLocked()
			return eusaas.E(eusaas.Unavailable, "syslog write failed").Wrap(err)
		}
	}
	if err := s.w.Flush(); err != nil {
		s.closeLocked()
		return eusaas.E(eusaas.Unavailable, "syslog write failed").Wrap(err)
	}
	// A receiver that went away while we wrote answers with a reset: look once more.
	if !s.alive() {
		s.closeLocked()
		return eusaas.E(eusaas.Unavailable, "syslog receiver closed the connection")
	}
	return nil
}

// alive reports whether the receiver still holds the connection open: receivers never send,
// so a read that times out means alive, EOF or a reset means gone.
func (s *Sink) alive() bool {
	_ = s.conn.SetReadDeadline(time.Now().Add(time.Millisecond))
	var one [1]byte
	_, err := s.conn.Read(one[:])
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (s *Sink) dial(ctx context.Context) error {
	d := &net.Dialer{Timeout: s.timeout}
	var conn net.Conn
	var err error
	if s.tls != nil {
		conn, err = (&tls.Dialer{NetDialer: d, Config: s.tls}).DialContext(ctx, s.network, s.addr)
	} else {
		conn, err = d.DialContext(ctx, s.network, s.addr)
	}
	if err != nil {
		return eusaas.E(eusaas.Unavailable, "syslog receiver unreachable").Wrap(err)
	}
	s.conn, s.w = conn, bufio.NewWriterSize(conn, 64<<10)
	return nil
}

func (s *Sink) closeLocked() {
	if s.conn != nil {
		_ = s.conn.Close()
	}
	s.conn, s.w = nil, nil
}

// Close closes the connection.
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeLocked()
	return nil
}
