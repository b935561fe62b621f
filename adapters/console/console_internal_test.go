package console

import (
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/auth"
)

// Every catalogue entry has both languages, and every key the templates use exists.
func TestCatalogueComplete(t *testing.T) {
	for k, v := range catalogue {
		if strings.TrimSpace(v[0]) == "" || strings.TrimSpace(v[1]) == "" {
			t.Errorf("%s: missing a translation: %q", k, v)
		}
	}
	used := regexp.MustCompile(`\.T "([a-z0-9._]+)"`)
	names, _ := templateFS.ReadDir("templates")
	for _, n := range names {
		b, err := templateFS.ReadFile("templates/" + n.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			if _, ok := catalogue[m[1]]; !ok {
				t.Errorf("%s uses %q, which the catalogue lacks", n.Name(), m[1])
			}
		}
	}
}

func TestFormatting(t *testing.T) {
	for _, c := range []struct{ lang, in, want string }{
		{"en", "1234567.891", "€1,234,567.89"},
		{"de", "1234567.891", "1.234.567,89\u00a0€"},
		{"en", "0.005", "€0.01"}, // half away from zero, as invoices round
		{"en", "-12.5", "-€12.50"},
		{"de", "999", "999,00\u00a0€"},
		{"en", "", "–"},
	} {
		if got := formatMoney(c.lang, c.in); got != c.want {
			t.Errorf("formatMoney(%s, %s) = %q, want %q", c.lang, c.in, got, c.want)
		}
	}
	day := time.Date(2026, 3, 3, 14, 5, 0, 0, time.UTC)
	if got := formatDate("de", day); got != "3. März 2026" {
		t.Errorf("de date %q", got)
	}
	if got := formatDate("en", day); got != "3 Mar 2026" {
		t.Errorf("en date %q", got)
	}
	if got := formatTime("en", day); got != "3 Mar 2026, 14:05 UTC" {
		t.Errorf("en time %q", got)
	}
}

func TestPickLang(t *testing.T) {
	for h, want := range map[string]string{
		"":                           "en",
		"de-DE,de;q=0.9,en;q=0.8":    "de",
		"fr-FR,en;q=0.5,de;q=0.7":    "de",
		"fr-FR":                      "en",
		"en-GB,en;q=0.9,de-AT;q=0.2": "en",
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Language", h)
		if got := pickLang(r); got != want {
			t.Errorf("Accept-Language %q: %s, want %s", h, got, want)
		}
	}
}

func TestNiceCeil(t *testing.T) {
	for in, want := range map[string]string{"0": "1", "0.003": "0.01", "0.7": "1", "7": "10", "12": "20", "64.3": "100", "230": "500", "1000": "1000"} {
		if got := niceCeil(decimal.RequireFromString(in)); !got.Equal(decimal.RequireFromString(want)) {
			t.Errorf("niceCeil(%s) = %s, want %s", in, got, want)
		}
	}
}

// The stacked bars of a day add up to the day's total on the axis scale, and the table
// fallback carries the exact amounts.
func TestDailyChart(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lines := []costLine{
		{Service: "CPU", Date: "2026-01-01", Amount: "30"},
		{Service: "MEMORY", Date: "2026-01-01", Amount: "20"},
		{Service: "CPU", Date: "2026-01-03", Amount: "100"},
		{Service: "CPU", Date: "2025-12-31", Amount: "999"}, // outside: ignored
	}
	c := buildDailyChart("en", from, from.AddDate(0, 0, 2), lines)
	if !c.HasData || len(c.Rows) != 3 || len(c.Bars) != 3 {
		t.Fatalf("chart %+v", c)
	}
	if c.Rows[0].Total != "€50.00" || c.Rows[1].Total != "€0.00" || c.Rows[2].Amounts[0] != "€100.00" {
		t.Errorf("rows %+v", c.Rows)
	}
	// Scale 100: day 1 is half the plot high, day 3 all of it.
	if h := c.Bars[0].H + c.Bars[1].H; h < c.PlotH/2-0.01 || h > c.PlotH/2+0.01 {
		t.Errorf("day 1 height %v of %v", h, c.PlotH)
	}
	if c.Bars[2].H < c.PlotH-0.01 {
		t.Errorf("day 3 height %v of %v", c.Bars[2].H, c.PlotH)
	}
	if c.Columns[0] != "CPU" || c.Columns[1] != "MEMORY" {
		t.Errorf("columns %v", c.Columns)
	}
}

// The session store drops anonymous sessions first when full, and rotation replaces the id.
func TestSessions(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := newSessions(time.Minute, time.Hour, 3, func() time.Time { return now })
	a := s.create("en")
	a.who.Store(&authPrincipalForTest)
	s.create("en")
	s.create("en")
	s.create("en")
	if s.get(a.id) == nil {
		t.Fatal("a signed-in session was evicted for anonymous ones")
	}
	n := s.rotate(a)
	if n.id == a.id || n.csrf == a.csrf || s.get(a.id) != nil {
		t.Fatal("rotation kept the old id or token")
	}
	now = now.Add(2 * time.Hour)
	if s.get(n.id) != nil {
		t.Fatal("an expired session is still served")
	}
	if csrfOK(n, "") || csrfOK(nil, "x") || !csrfOK(n, n.csrf) {
		t.Fatal("csrfOK")
	}
}

var authPrincipalForTest = auth.Principal{Kind: eusaas.ActorUser, UserID: "u1", TenantID: eusaas.NewTenantID(), Role: auth.RoleViewer}
