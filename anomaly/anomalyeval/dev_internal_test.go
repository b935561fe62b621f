package anomalyeval

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas/anomaly"
)

// TestDevSynthetic is a development check (skipped unless EUSAAS_DEV_SEED is set): the
// calibrated detector alone on one synthetic seed (99 is the development seed), with its
// false positives classified (EUSAAS_DEV_VERBOSE: each one and each missed event), held to
// issue 17's targets (F1 >= 0.80, slow-drift recall >= 0.75).
func TestDevSynthetic(t *testing.T) {
	seedS := os.Getenv("EUSAAS_DEV_SEED")
	if seedS == "" {
		t.Skip("EUSAAS_DEV_SEED not set")
	}
	seed, _ := strconv.ParseUint(seedS, 10, 64)
	tenants := 200
	if s := os.Getenv("EUSAAS_DEV_TENANTS"); s != "" {
		tenants, _ = strconv.Atoi(s)
	}
	det := anomaly.NewCalibrated()
	if s := os.Getenv("EUSAAS_DEV_THRESH"); s != "" {
		det.Thresh, _ = strconv.ParseFloat(s, 64)
	}
	data := Generate(SynthConfig{Seed: seed, Tenants: tenants})
	type fp struct {
		tenant     int
		service    string
		day        int
		kind, rule string
	}
	var mu sync.Mutex
	var fps []fp
	Debug = func(tenant int, service string, day int, kind, rule string) {
		mu.Lock()
		fps = append(fps, fp{tenant, service, day, kind, rule})
		mu.Unlock()
	}
	var misses []Event
	DebugMiss = func(e Event) { misses = append(misses, e) }
	defer func() { Debug, DebugMiss = nil, nil }()
	r, err := EvaluateSynthetic(context.Background(), data, det, decimal.NewFromInt(5), "dev")
	if err != nil {
		t.Fatal(err)
	}
	p, rc, f1 := r.PRF()
	defer func() {
		if f1 < 0.80 || float64(r.ByKind[EventDrift][0]) < 0.75*float64(r.ByKind[EventDrift][1]) {
			t.Errorf("seed %d: F1 %.3f, slow drifts %d/%d: under issue 17's targets", seed, f1, r.ByKind[EventDrift][0], r.ByKind[EventDrift][1])
		}
	}()
	fmt.Printf("seed %d tenants %d thresh %g: F1 %.3f P %.3f R %.3f detected %d/%d FP %d drift %d/%d spike %d/%d shift %d/%d new %d/%d FPByKind %v\n",
		seed, tenants, det.Thresh, f1, p, rc, r.Detected, r.Events, r.FalsePos,
		r.ByKind[EventDrift][0], r.ByKind[EventDrift][1], r.ByKind[EventSpike][0], r.ByKind[EventSpike][1],
		r.ByKind[EventLevelShift][0], r.ByKind[EventLevelShift][1], r.ByKind[EventNewResource][0], r.ByKind[EventNewResource][1], r.FPByKind)
	sort.Slice(fps, func(i, j int) bool {
		a, b := fps[i], fps[j]
		if a.tenant != b.tenant {
			return a.tenant < b.tenant
		}
		if a.service != b.service {
			return a.service < b.service
		}
		return a.day < b.day
	})
	fpSet := map[string]bool{}
	for _, f := range fps {
		fpSet[fmt.Sprint(f.tenant, f.service, f.day)] = true
	}
	classes := map[string]int{}
	verbose := os.Getenv("EUSAAS_DEV_VERBOSE") != ""
	for _, f := range fps {
		var cl []string
		if f.service == anomaly.ServiceTotal {
			cl = append(cl, "total")
		}
		if f.day < 28 {
			cl = append(cl, "cold")
		}
		if fpSet[fmt.Sprint(f.tenant, f.service, f.day-1)] {
			cl = append(cl, "cont")
		}
		after := ""
		for _, e := range data.Events {
			if e.Tenant == f.tenant && (e.Resource == f.service || f.service == anomaly.ServiceTotal) {
				if f.day > e.End && f.day <= e.End+21 {
					after = fmt.Sprintf("after_%s", e.Kind)
				}
				if f.day < e.Start && f.day >= e.Start-3 {
					after = fmt.Sprintf("before_%s", e.Kind)
				}
			}
		}
		if after != "" {
			cl = append(cl, after)
		}
		day := data.Config.Start.AddDate(0, 0, f.day)
		if day.Day() <= 2 {
			cl = append(cl, "monthstart")
		}
		key := fmt.Sprint(cl)
		classes[f.kind+" "+f.rule+" "+key]++
		if verbose {
			fmt.Printf("FP t%d %s d%d %s %s %s %v\n", f.tenant, f.service, f.day, day.Format("Mon 01-02"), f.kind, f.rule, cl)
		}
	}
	if verbose {
		for _, e := range misses {
			fmt.Printf("MISS %+v len %d\n", e, e.End-e.Start+1)
		}
	}
	var keys []string
	for k := range classes {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return classes[keys[i]] > classes[keys[j]] })
	for _, k := range keys {
		fmt.Printf("%5d %s\n", classes[k], k)
	}
}

// TestDevNAB is a development check (skipped unless EUSAAS_DEV_NAB is set): the default
// calibrated stream on NAB's development categories only (EUSAAS_DEV_VERBOSE: per series
// and window), held to issue 17's target of 60 standard there (66.3 when this was written).
func TestDevNAB(t *testing.T) {
	dir := os.Getenv("EUSAAS_DEV_NAB")
	if dir == "" {
		t.Skip("EUSAAS_DEV_NAB not set")
	}
	c, err := LoadNAB(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	dev, _ := SplitCorpus(c, NABDevCategories)
	dets := []StreamDetector{NewCalibratedStream()}
	if os.Getenv("EUSAAS_DEV_CONTROLS") != "" {
		dets = append(dets, NewCalibratedLevelStream(), NewCalibratedEveryPointStream())
	}
	for _, det := range dets {
		scores := Run(dev, det)
		res := Score(dev, det.Name(), scores)
		if det.Name() == NewCalibratedStream().Name() && res.Profiles[0].Score < 60 {
			t.Errorf("%s: development half %.1f standard, under 60", det.Name(), res.Profiles[0].Score)
		}
		fmt.Printf("NAB dev %s: standard %.1f low-FP %.1f low-FN %.1f thr %.4g events %+v\n", det.Name(),
			res.Profiles[0].Score, res.Profiles[1].Score, res.Profiles[2].Score, res.Profiles[0].Threshold, res.Events)
		if os.Getenv("EUSAAS_DEV_VERBOSE") != "" {
			for i, s := range dev.Series {
				one := Corpus{Series: []Series{s}, Profiles: dev.Profiles}
				fmt.Printf("  %-55s %+v n=%d ppd=%d\n", s.Name, Events(one, scores[i:i+1], res.Profiles[0].Threshold), len(s.Values), s.PointsPerDay())
				for _, w := range s.Windows {
					mx, at := 0.0, -1
					for j := w[0]; j <= w[1]; j++ {
						if scores[i][j] > mx {
							mx, at = scores[i][j], j
						}
					}
					fmt.Printf("     window %v max %.2f at %+d (width %d)\n", w, mx, at-w[0], w[1]-w[0]+1)
				}
			}
		}
	}
}
