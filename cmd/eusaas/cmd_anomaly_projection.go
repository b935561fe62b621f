package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas"
	"github.com/eusaas/eusaas/anomaly/anomalyeval"
	"github.com/eusaas/eusaas/billing"
	"github.com/eusaas/eusaas/billing/membilling"
)

// projectionBacktest is the month-end projection (billing.Service.Projection) replayed on
// the synthetic daily costs: for every tenant, every complete calendar month of the data and
// every day of month d = 1..28, the projection made at 00:00 UTC of day d (days 1..d-1
// complete) is compared with the month's actual total.
type projectionBacktest struct {
	Months int              // tenant-months back-tested
	ByDay  [29]projDayStats // index = day of month (1..28)
	// Warm counts the projections of months with at least 28 days of data before them (the
	// projection's full history from day 1 on); the others start with no history at all.
	Warm, WarmCovered, WarmMonths int
}

type projDayStats struct {
	N       int
	Covered int     // actual total inside [IntervalLow, IntervalHigh]
	APESum  float64 // sum of |projected - actual| / actual
}

// synthUsage serves synthetic daily costs through billing's UsageStore port (read-only:
// the back-test never ingests).
type synthUsage struct {
	buckets map[eusaas.TenantID][]billing.Bucket // by day
}

var errReadOnly = errors.New("synthetic usage is read-only")

func (s synthUsage) Record(context.Context, eusaas.TenantID, []billing.UsageEvent, billing.Rater) ([]bool, error) {
	return nil, errReadOnly
}

func (s synthUsage) Buckets(_ context.Context, tenant eusaas.TenantID, from, to time.Time) ([]billing.Bucket, error) {
	rows := s.buckets[tenant]
	i := sort.Search(len(rows), func(i int) bool { return !rows[i].Day.Before(from) })
	j := sort.Search(len(rows), func(i int) bool { return rows[i].Day.After(to) })
	return rows[i:j], nil
}

func (s synthUsage) FirstDay(_ context.Context, tenant eusaas.TenantID) (time.Time, bool, error) {
	rows := s.buckets[tenant]
	if len(rows) == 0 {
		return time.Time{}, false, nil
	}
	return rows[0].Day, true, nil
}

func (s synthUsage) PurgeDedup(context.Context, eusaas.TenantID, time.Time) (int, error) {
	return 0, errReadOnly
}

func (s synthUsage) PseudonymizeAttributes(context.Context, eusaas.TenantID, string, string) (int, error) {
	return 0, errReadOnly
}

// AttributeUsage: the synthetic series are per resource only; they carry no attributes.
func (s synthUsage) AttributeUsage(context.Context, eusaas.TenantID, time.Time, time.Time) ([]billing.AttributeUsage, error) {
	return nil, nil
}

// backtestProjection runs the back-test on data through billing's exported API.
func backtestProjection(ctx context.Context, data anomalyeval.SynthData) (projectionBacktest, error) {
	var bt projectionBacktest
	usage := synthUsage{buckets: map[eusaas.TenantID][]billing.Bucket{}}
	for i, id := range data.Tenants {
		bs := make([]billing.Bucket, 0, len(data.Rows[i]))
		for _, r := range data.Rows[i] {
			bs = append(bs, billing.Bucket{Resource: billing.ResourceType(r.Resource), Day: r.Day, Amount: r.Amount})
		}
		sort.SliceStable(bs, func(a, b int) bool { return bs[a].Day.Before(bs[b].Day) })
		usage.buckets[id] = bs
	}
	svc, err := billing.NewService(billing.Deps{Usage: usage, Invoices: membilling.NewInvoiceStore(), Prices: membilling.NewPriceStore()}, billing.Options{})
	if err != nil {
		return bt, err
	}
	cfg := data.Config
	end := cfg.Start.AddDate(0, 0, cfg.Days) // first day without data
	for m := billing.MonthStart(cfg.Start); !m.AddDate(0, 1, 0).After(end); m = m.AddDate(0, 1, 0) {
		if m.Before(cfg.Start) {
			continue // the month is not complete in the data
		}
		for _, id := range data.Tenants {
			if err := ctx.Err(); err != nil {
				return bt, err
			}
			rows, _ := usage.Buckets(ctx, id, m, m.AddDate(0, 1, -1))
			actual := decimal.Zero
			for _, b := range rows {
				actual = actual.Add(b.Amount)
			}
			if !actual.IsPositive() {
				continue
			}
			bt.Months++
			warm := !m.AddDate(0, 0, -28).Before(cfg.Start)
			if warm {
				bt.WarmMonths++
			}
			af := actual.InexactFloat64()
			for d := 1; d <= 28; d++ {
				p, err := svc.Projection(ctx, id, m.AddDate(0, 0, d-1))
				if err != nil {
					return bt, err
				}
				st := &bt.ByDay[d]
				st.N++
				covered := !actual.LessThan(p.IntervalLow) && !actual.GreaterThan(p.IntervalHigh)
				if covered {
					st.Covered++
				}
				if warm {
					bt.Warm++
					if covered {
						bt.WarmCovered++
					}
				}
				st.APESum += abs(p.ProjectedTotal.InexactFloat64()-af) / af
			}
		}
	}
	return bt, nil
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// Markdown renders the back-test: overall coverage of the 95% interval and, per day of
// month, coverage and MAPE.
func (bt projectionBacktest) Markdown(cfg anomalyeval.SynthConfig) string {
	var b strings.Builder
	n, cov := 0, 0
	for d := 1; d <= 28; d++ {
		n += bt.ByDay[d].N
		cov += bt.ByDay[d].Covered
	}
	fmt.Fprintf(&b, "### Month-end projection back-test (synthetic seed %d): %d tenant-months, projections at 00:00 UTC of days 1-28\n\n", cfg.Seed, bt.Months)
	if n == 0 {
		b.WriteString("No complete month in the data.\n")
		return b.String()
	}
	fmt.Fprintf(&b, "Actual month total inside the 95%% interval: %.1f%% of %d projections (target 90-98%%).\n\n", 100*float64(cov)/float64(n), n)
	if bt.Warm > 0 {
		fmt.Fprintf(&b, "Months with at least 28 days of data before them (%d tenant-months, %d projections): %.1f%% inside; the first month of the data, which starts with no history, is in the total above and the table below.\n\n",
			bt.WarmMonths, bt.Warm, 100*float64(bt.WarmCovered)/float64(bt.Warm))
	}
	b.WriteString("| day of month | projections | inside 95% interval | MAPE |\n|---:|---:|---:|---:|\n")
	for d := 1; d <= 28; d++ {
		st := bt.ByDay[d]
		if st.N == 0 {
			continue
		}
		fmt.Fprintf(&b, "| %d | %d | %.1f%% | %.2f%% |\n", d, st.N, 100*float64(st.Covered)/float64(st.N), 100*st.APESum/float64(st.N))
	}
	return b.String()
}
