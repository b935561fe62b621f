package console

import (
	"fmt"
	"sort"
	"time"

	"github.com/shopspring/decimal"
)

// The charts are SVG drawn by the templates from the geometry computed here: no chart
// library and no script, so they render with JavaScript off and print. Amounts stay exact
// decimals everywhere they are shown; only pixel positions are floats.

// resourceColors are the series colours, each with at least 3:1 contrast against the white
// chart background (WCAG 2.1 1.4.11, non-text contrast) and distinct in hue and lightness.
var resourceColors = map[string]string{
	"CPU":       "#1f4e8c",
	"MEMORY":    "#b3461b",
	"STORAGE":   "#2e7d32",
	"NETWORK":   "#6a1b9a",
	"API_CALLS": "#4e5b66",
}

var resourceOrder = []string{"CPU", "MEMORY", "STORAGE", "NETWORK", "API_CALLS"}

type rect struct {
	X, Y, W, H float64
	Color      string
	Label      string // the segment's accessible title: day, resource and amount
}

type tick struct {
	Pos    float64
	Label  string
	Anchor string // SVG text-anchor: the last label ends at its bar so it is not clipped
}

type legendItem struct{ Name, Color string }

// dailyChart is the stacked bar chart of daily costs by resource.
type dailyChart struct {
	Width, Height          float64
	PlotX, PlotY           float64
	PlotW, PlotH           float64
	Bars                   []rect
	YTicks, XTicks         []tick
	Legend                 []legendItem
	Rows                   []dailyRow // the table fallback
	Columns                []string
	HasData                bool
	Summary                string
	PlotBottom, PlotRightX float64
}

type dailyRow struct {
	Day     string
	Amounts []string
	Total   string
}

type costLine struct {
	Service string `json:"service"`
	Date    string `json:"date"`
	Amount  string `json:"amount"`
}

// buildDailyChart lays out days [from, to] (UTC) from the API's group_by=day line items.
func buildDailyChart(lang string, from, to time.Time, lines []costLine) dailyChart {
	c := dailyChart{Width: 960, Height: 320, PlotX: 80, PlotY: 16, PlotW: 860, PlotH: 250}
	c.PlotBottom, c.PlotRightX = c.PlotY+c.PlotH, c.PlotX+c.PlotW
	days := int(to.Sub(from).Hours()/24) + 1
	if days < 1 {
		return c
	}
	byDay := make([]map[string]decimal.Decimal, days)
	seen := map[string]bool{}
	for _, l := range lines {
		d := parseDay(l.Date)
		i := int(d.Sub(from).Hours() / 24)
		if d.IsZero() || i < 0 || i >= days {
			continue
		}
		amt, err := decimal.NewFromString(l.Amount)
		if err != nil {
			continue
		}
		if byDay[i] == nil {
			byDay[i] = map[string]decimal.Decimal{}
		}
		byDay[i][l.Service] = byDay[i][l.Service].Add(amt)
		seen[l.Service] = true
	}
	var services []string
	for _, s := range resourceOrder {
		if seen[s] {
			services = append(services, s)
		}
	}
	var extra []string
	for s := range seen {
		if _, known := resourceColors[s]; !known {
			extra = append(extra, s)
		}
	}
	sort.Strings(extra)
	services = append(services, extra...)
	c.Columns = services
	for _, s := range services {
		c.Legend = append(c.Legend, legendItem{s, colorOf(s)})
	}

	totals := make([]decimal.Decimal, days)
	maxTotal, sum := decimal.Zero, decimal.Zero
	for i, m := range byDay {
		for _, a := range m {
			totals[i] = totals[i].Add(a)
		}
		if totals[i].GreaterThan(maxTotal) {
			maxTotal = totals[i]
		}
		sum = sum.Add(totals[i])
	}
	c.HasData = maxTotal.IsPositive()
	c.Summary = fmt.Sprintf("%d · %s · max %s", days, formatMoney(lang, sum.String()), formatMoney(lang, maxTotal.String()))
	scale := niceCeil(maxTotal)
	for k := 0; k <= 4; k++ {
		v := scale.Mul(decimal.NewFromInt(int64(k))).Div(decimal.NewFromInt(4))
		c.YTicks = append(c.YTicks, tick{Pos: c.PlotY + c.PlotH - c.PlotH*float64(k)/4, Label: formatMoney(lang, v.String())})
	}
	slot := c.PlotW / float64(days)
	barW := slot * 0.8
	scaleF := scale.InexactFloat64()
	for i := 0; i < days; i++ {
		day := from.AddDate(0, 0, i)
		row := dailyRow{Day: formatDate(lang, day), Total: formatMoney(lang, totals[i].String())}
		y := c.PlotY + c.PlotH
		for _, s := range services {
			a := byDay[i][s]
			row.Amounts = append(row.Amounts, formatMoney(lang, a.String()))
			if !a.IsPositive() || scaleF == 0 {
				continue
			}
			h := c.PlotH * a.InexactFloat64() / scaleF
			y -= h
			c.Bars = append(c.Bars, rect{X: c.PlotX + float64(i)*slot + (slot-barW)/2, Y: y, W: barW, H: h, Color: colorOf(s),
				Label: row.Day + ", " + s + ": " + formatMoney(lang, a.String())})
		}
		c.Rows = append(c.Rows, row)
		if i%15 == 0 || i == days-1 {
			anchor := "middle"
			if i == days-1 {
				anchor = "end"
			}
			c.XTicks = append(c.XTicks, tick{Pos: c.PlotX + float64(i)*slot + slot/2, Label: formatDate(lang, day), Anchor: anchor})
		}
	}
	return c
}

func colorOf(s string) string {
	if c, ok := resourceColors[s]; ok {
		return c
	}
	return "#37474f"
}

// niceCeil is the smallest 1, 2 or 5 times a power of ten at or above v (an axis maximum
// with round tick labels). Below one cent the axis ends at a cent: labels show cents.
func niceCeil(v decimal.Decimal) decimal.Decimal {
	if !v.IsPositive() {
		return decimal.NewFromInt(1)
	}
	p := decimal.New(1, int32(len(v.Truncate(0).String())-1))
	if v.LessThan(decimal.NewFromInt(1)) {
		p = decimal.New(1, -2)
		for p.Mul(decimal.NewFromInt(10)).LessThan(v) {
			p = p.Mul(decimal.NewFromInt(10))
		}
	}
	for {
		for _, m := range []int64{1, 2, 5} {
			if c := p.Mul(decimal.NewFromInt(m)); c.GreaterThanOrEqual(v) {
				return c
			}
		}
		p = p.Mul(decimal.NewFromInt(10))
	}
}

// projChart is the horizontal month chart: actual to date, the projection with its
// interval, and the budget line.
type projChart struct {
	Width, Height             float64
	ActualW                   float64
	BandX, BandW              float64
	ProjX                     float64
	BudgetX                   float64
	HasBudget                 bool
	ScaleLabel, ZeroLabel     string
	Actual, Projected         string
	Low, High, Budget         string
	BarY, BarH, AxisY, LabelY float64
}

func buildProjChart(lang, actual, projected, low, high, budget string) projChart {
	c := projChart{Width: 960, Height: 96, BarY: 20, BarH: 36, AxisY: 64, LabelY: 84}
	a, p := dec(actual), dec(projected)
	lo, hi := dec(low), dec(high)
	maxV := decimal.Max(a, p, hi)
	var b decimal.Decimal
	if budget != "" {
		b = dec(budget)
		c.HasBudget = b.IsPositive()
		maxV = decimal.Max(maxV, b)
	}
	scale := niceCeil(maxV.Mul(decimal.NewFromFloat(1.05)))
	const x0, w = 10.0, 940.0
	pos := func(v decimal.Decimal) float64 { return x0 + w*v.InexactFloat64()/scale.InexactFloat64() }
	c.ActualW = pos(a) - x0
	c.BandX, c.BandW = pos(lo), pos(hi)-pos(lo)
	c.ProjX = pos(p)
	c.BudgetX = pos(b)
	c.ZeroLabel, c.ScaleLabel = formatMoney(lang, "0"), formatMoney(lang, scale.String())
	c.Actual, c.Projected, c.Low, c.High = formatMoney(lang, actual), formatMoney(lang, projected), formatMoney(lang, low), formatMoney(lang, high)
	if c.HasBudget {
		c.Budget = formatMoney(lang, budget)
	}
	return c
}

func dec(s string) decimal.Decimal {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Zero
	}
	return d
}
