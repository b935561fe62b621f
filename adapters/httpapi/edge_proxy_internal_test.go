package httpapi

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestEdgeClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	cases := []struct {
		name, peer string
		headers    map[string][]string
		want       string
	}{
		{"no proxy header", "10.1.1.1:5", nil, "10.1.1.1"},
		{"untrusted peer ignores XFF", "192.0.2.1:5", map[string][]string{"X-Forwarded-For": {"203.0.113.7"}}, "192.0.2.1"},
		{"untrusted peer ignores Forwarded", "192.0.2.1:5", map[string][]string{"Forwarded": {"for=203.0.113.7"}}, "192.0.2.1"},
		{"one hop", "10.1.1.1:5", map[string][]string{"X-Forwarded-For": {"203.0.113.7"}}, "203.0.113.7"},
		{"spoofed left hop ignored", "10.1.1.1:5", map[string][]string{"X-Forwarded-For": {"1.1.1.1, 203.0.113.7"}}, "203.0.113.7"},
		{"chain of trusted proxies", "10.1.1.1:5", map[string][]string{"X-Forwarded-For": {"203.0.113.7, 10.2.2.2", "10.3.3.3"}}, "203.0.113.7"},
		{"all hops trusted", "10.1.1.1:5", map[string][]string{"X-Forwarded-For": {"10.2.2.2"}}, "10.2.2.2"},
		{"garbage hop stops the walk", "10.1.1.1:5", map[string][]string{"X-Forwarded-For": {"203.0.113.7, not-an-ip"}}, "10.1.1.1"},
		{"hop with port", "10.1.1.1:5", map[string][]string{"X-Forwarded-For": {"203.0.113.7:4711"}}, "203.0.113.7"},
		{"ipv6 peer and hop", "[fd00::1]:5", map[string][]string{"X-Forwarded-For": {"2001:db8::7"}}, "2001:db8::7"},
		{"forwarded ipv6 quoted", "10.1.1.1:5", map[string][]string{"Forwarded": {`for="[2001:db8::7]:4711";proto=https, for=10.2.2.2`}}, "2001:db8::7"},
		{"forwarded obfuscated", "10.1.1.1:5", map[string][]string{"Forwarded": {"for=_hidden"}}, "10.1.1.1"},
		{"XFF wins over Forwarded", "10.1.1.1:5", map[string][]string{"X-Forwarded-For": {"203.0.113.7"}, "Forwarded": {"for=198.51.100.1"}}, "203.0.113.7"},
		{"mapped peer", "[::ffff:10.1.1.1]:5", map[string][]string{"X-Forwarded-For": {"203.0.113.7"}}, "203.0.113.7"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.peer
			for k, vs := range c.headers {
				for _, v := range vs {
					r.Header.Add(k, v)
				}
			}
			if got := clientIP(r, trusted); got != c.want {
				t.Fatalf("clientIP = %q, want %q", got, c.want)
			}
			// Without trusted proxies the peer is always the client.
			host := c.peer
			if a, err := netip.ParseAddrPort(c.peer); err == nil {
				host = a.Addr().String()
			}
			if got := clientIP(r, nil); got != host {
				t.Fatalf("clientIP without trusted proxies = %q, want %q", got, host)
			}
		})
	}
}
