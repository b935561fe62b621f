package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkConsoleOverview is the server time of the overview page for a tenant with 90
// days x 5 resources of usage (the issue's < 100 ms target): the whole request through the
// reference server's router, the console's four in-process API calls (costs by day for 90
// days, month to date, projection, open anomalies) and the SVG rendering. Run:
//
//	cd cmd/eusaas && go test -run '^$' -bench BenchmarkConsoleOverview .
func BenchmarkConsoleOverview(b *testing.B) {
	w := newConsoleWorld(b)
	br := w.browser(b)
	br.signIn("acme", ownerEmail, ownerPass)
	u, _ := url.Parse(w.srv.URL)
	var cookie *http.Cookie
	for _, ck := range br.hc.Jar.Cookies(u) {
		if strings.HasSuffix(ck.Name, "eusaas_console") {
			cookie = ck
		}
	}
	require.NotNil(b, cookie)
	h := w.app.server.Handler()
	path := "/console/t/" + w.acme + "/overview"
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `id="daily-chart"`) {
			b.Fatalf("status %d: %.300s", rec.Code, rec.Body.String())
		}
	}
}
