package vies_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/billing/vat"
	"github.com/eusaas/eusaas/billing/vies"
)

// fakeVIES speaks the VIES REST check-vat-number API on 127.0.0.1 (the real service is not
// reachable from the test machines): registered numbers are valid, the MS_UNAVAILABLE
// number answers as a member state whose service is down, others are not valid.
func fakeVIES(t *testing.T, seen *[]map[string]string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/check-vat-number" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		var req map[string]string
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		*seen = append(*seen, req)
		w.Header().Set("Content-Type", "application/json")
		switch req["vatNumber"] {
		case "40303265045":
			_ = json.NewEncoder(w).Encode(map[string]any{"countryCode": req["countryCode"], "vatNumber": req["vatNumber"],
				"requestDate": "2026-12-02T17:00:00.000Z", "valid": true, "requestIdentifier": "WAPIAAAAZ4ABCDEF",
				"name": "ACME SA", "address": "1 RUE DE LA PAIX\n75002 PARIS", "traderName": "---"})
		case "U13585627":
			w.WriteHeader(http.StatusInternalServerError)
			_ = json.NewEncoder(w).Encode(map[string]any{"actionSucceed": false,
				"errorWrappers": []map[string]string{{"error": "MS_UNAVAILABLE"}}})
		default:
			_ = json.NewEncoder(w).Encode(map[string]any{"countryCode": req["countryCode"], "vatNumber": req["vatNumber"],
				"requestDate": "2026-12-02T17:00:00.000Z", "valid": false, "requestIdentifier": "", "name": "---", "address": "---"})
		}
	}))
}

func id(s string) vat.ID { v, _, _ := vat.ParseID(s); return v }

func TestCheck(t *testing.T) {
	var seen []map[string]string
	srv := fakeVIES(t, &seen)
	defer srv.Close()
	c := vies.New(srv.URL + "/check-vat-number")
	ctx := context.Background()

	ev, err := c.Check(ctx, id("FR40303265045"), "DE136695976")
	if err != nil || !ev.Valid || ev.Name != "ACME SA" || ev.RequestIdentifier != "WAPIAAAAZ4ABCDEF" || ev.RequestDate.Format("2006-01-02") != "2026-12-02" || ev.Raw == "" {
		t.Fatalf("valid: %+v %v", ev, err)
	}
	if seen[0]["countryCode"] != "FR" || seen[0]["vatNumber"] != "40303265045" || seen[0]["requesterMemberStateCode"] != "DE" || seen[0]["requesterNumber"] != "136695976" {
		t.Fatalf("request: %v", seen[0])
	}
	ev, err = c.Check(ctx, id("DE136695976"), "DE136695976")
	if err != nil || ev.Valid || ev.Name != "" {
		t.Fatalf("not valid: %+v %v", ev, err)
	}
	if _, err := c.Check(ctx, id("ATU13585627"), "DE136695976"); eusaas.KindOf(err) != eusaas.Unavailable {
		t.Fatalf("member state down: %v", err)
	}
	srv.Close()
	if _, err := c.Check(ctx, id("FR40303265045"), "DE136695976"); eusaas.KindOf(err) != eusaas.Unavailable {
		t.Fatalf("unreachable: %v", err)
	}
}
