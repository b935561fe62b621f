package console

import (
	"net/http"
	"strings"
)

// Anomaly alert subscriptions (GET/PUT /anomaly-alerts). The API replaces the whole list on
// PUT, so adding or removing one sends the others back as they are (a webhook's secret is
// never shown; omitting it keeps the stored one).

type alertChannel struct {
	Type      string `json:"type"`
	URL       string `json:"url,omitempty"`
	SecretSet bool   `json:"secret_set,omitempty"`
	Address   string `json:"address,omitempty"`
}

type alertSubscription struct {
	ID              string         `json:"id,omitempty"`
	ThresholdAmount *string        `json:"threshold_amount,omitempty"`
	ThresholdPct    *string        `json:"threshold_pct,omitempty"`
	Combine         string         `json:"combine,omitempty"`
	Frequency       string         `json:"frequency"`
	Channels        []alertChannel `json:"channels"`
}

type alertsData struct {
	Subscriptions []alertSubscription `json:"subscriptions"`
	Frequencies   []string            `json:"-"`
}

func (c *Console) alerts(w http.ResponseWriter, r *http.Request, ss *session) {
	tid := r.PathValue("tid")
	d := alertsData{Frequencies: []string{"IMMEDIATE", "DAILY", "WEEKLY"}}
	if !c.get(w, r, ss, "/api/v1/tenants/"+tid+"/anomaly-alerts", &d) {
		return
	}
	c.render(w, r, ss, http.StatusOK, "alerts", T(ss.language(), "alerts.title"), tid, d)
}

// putAlerts writes subs back, each channel as the API takes it in.
func (c *Console) putAlerts(w http.ResponseWriter, r *http.Request, ss *session, tid string, subs []alertSubscription) {
	in := make([]map[string]any, 0, len(subs))
	for _, s := range subs {
		var chans []map[string]string
		for _, ch := range s.Channels {
			m := map[string]string{"type": ch.Type}
			if ch.URL != "" {
				m["url"] = ch.URL
			}
			if ch.Address != "" {
				m["address"] = ch.Address
			}
			chans = append(chans, m)
		}
		sub := map[string]any{"frequency": s.Frequency, "channels": chans}
		if s.Combine != "" {
			sub["combine"] = s.Combine
		}
		if s.ThresholdAmount != nil {
			sub["threshold_amount"] = *s.ThresholdAmount
		}
		if s.ThresholdPct != nil {
			sub["threshold_pct"] = *s.ThresholdPct
		}
		in = append(in, sub)
	}
	c.act(w, r, ss, http.MethodPut, "/api/v1/tenants/"+tid+"/anomaly-alerts", map[string]any{"subscriptions": in}, "alerts.saved", Prefix+"/t/"+tid+"/alerts")
}

func (c *Console) addAlert(w http.ResponseWriter, r *http.Request, ss *session) {
	tid := r.PathValue("tid")
	var d alertsData
	if !c.get(w, r, ss, "/api/v1/tenants/"+tid+"/anomaly-alerts", &d) {
		return
	}
	s := alertSubscription{Frequency: r.PostForm.Get("frequency")}
	if v := strings.TrimSpace(r.PostForm.Get("threshold_amount")); v != "" {
		s.ThresholdAmount = &v
	}
	if v := strings.TrimSpace(r.PostForm.Get("threshold_pct")); v != "" {
		s.ThresholdPct = &v
	}
	if r.PostForm.Get("channel") == "webhook" {
		s.Channels = []alertChannel{{Type: "webhook", URL: strings.TrimSpace(r.PostForm.Get("target"))}}
	} else {
		s.Channels = []alertChannel{{Type: "email", Address: strings.TrimSpace(r.PostForm.Get("target"))}}
	}
	c.putAlerts(w, r, ss, tid, append(d.Subscriptions, s))
}

func (c *Console) removeAlert(w http.ResponseWriter, r *http.Request, ss *session) {
	tid, id := r.PathValue("tid"), r.PathValue("sid")
	var d alertsData
	if !c.get(w, r, ss, "/api/v1/tenants/"+tid+"/anomaly-alerts", &d) {
		return
	}
	var keep []alertSubscription
	for _, s := range d.Subscriptions {
		if s.ID != id {
			keep = append(keep, s)
		}
	}
	c.putAlerts(w, r, ss, tid, keep)
}
