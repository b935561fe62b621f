package anomalyeval

import (
	"context"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/eusaas/eusaas/anomaly"
)

// Options selects what an evaluation runs.
type Options struct {
	// NAB is the root of a NAB tree (data/, labels/, config/); nil skips NAB.
	NAB      fs.FS
	NABLabel string // shown in the report (the directory)
	Synth    SynthConfig
	// MinImpact is the dual gate's minimum impact on synthetic data (5 EUR).
	MinImpact decimal.Decimal
}

// NABSummary is the NAB part of a report.
type NABSummary struct {
	Series, Windows, Points int
	Results                 []NABResult
	// Split is each detector scored separately on the development and the held-out
	// categories (NABDevCategories), each half with its own optimised threshold.
	Split []SplitResult
}

// NABDevCategories are the NAB categories the NAB adaptation was decided on: every second
// category in alphabetical order, fixed before any variant was scored. The others
// (artificialWithAnomaly, realKnownCause, realTweets) were only scored once the adaptation
// was fixed; realAWSCloudwatch is not in the data folder at all.
var NABDevCategories = []string{"artificialNoAnomaly", "realAdExchange", "realTraffic"}

// SplitResult is a detector's NAB result on the development and the held-out categories.
type SplitResult struct {
	Detector     string
	Dev, Holdout NABResult
	DevWindows   int
	HoldWindows  int
}

// SplitCorpus divides c into the series whose category is one of cats and the rest.
func SplitCorpus(c Corpus, cats []string) (in, out Corpus) {
	in.Profiles, out.Profiles = c.Profiles, c.Profiles
	for _, s := range c.Series {
		cat, _, _ := strings.Cut(s.Name, "/")
		if slices.Contains(cats, cat) {
			in.Series = append(in.Series, s)
		} else {
			out.Series = append(out.Series, s)
		}
	}
	return in, out
}

// subScores picks the score slices of the series of sub (a SplitCorpus half of c).
func subScores(c, sub Corpus, scores [][]float64) [][]float64 {
	idx := make(map[string]int, len(c.Series))
	for i, s := range c.Series {
		idx[s.Name] = i
	}
	out := make([][]float64, len(sub.Series))
	for i, s := range sub.Series {
		out[i] = scores[idx[s.Name]]
	}
	return out
}

// Report is one evaluation run.
type Report struct {
	Options  Options
	NAB      *NABSummary
	Synth    []SynthResult
	Thresh   map[string]string // synthetic detector -> threshold description
	Duration time.Duration
}

// NABDetectors are the streaming detectors compared on NAB, the baseline first, then the
// scanner's default, the other detectors and the controls.
func NABDetectors() []StreamDetector {
	return []StreamDetector{NewNABGaussian(), NewCalibratedStream(), NewZScoreStream(), NewSeasonalStream(),
		NewCalibratedEveryPointStream(), NewCalibratedLevelStream(), NewSlidingGaussian(), NewGaussianZStream()}
}

// publishedGaussian is the label of NAB's own published windowedGaussian scores, re-scored.
const publishedGaussian = "windowedGaussian, NAB's published scores (12 digits)"

// defaultMark appends "(default)" to label when det is the scanner's default detector.
func defaultMark(label string, det anomaly.Detector) string {
	if det.Name() == anomaly.DefaultDetector().Name() {
		return label + " (default)"
	}
	return label
}

// Evaluate runs NAB (when given) and the synthetic evaluation in one run.
func Evaluate(ctx context.Context, o Options) (Report, error) {
	start := time.Now()
	if o.MinImpact.IsZero() {
		o.MinImpact = anomaly.DefaultMinImpact
	}
	o.Synth = o.Synth.withDefaults()
	rep := Report{Options: o, Thresh: map[string]string{}}
	gaussNAB := math.NaN()
	if o.NAB != nil {
		c, err := LoadNAB(o.NAB)
		if err != nil {
			return rep, fmt.Errorf("nab: %w", err)
		}
		sum := &NABSummary{Series: len(c.Series), Windows: c.Windows()}
		for _, s := range c.Series {
			sum.Points += len(s.Values)
		}
		dev, hold := SplitCorpus(c, NABDevCategories)
		add := func(name string, scores [][]float64) NABResult {
			res := Score(c, name, scores)
			sum.Results = append(sum.Results, res)
			if len(dev.Series) > 0 && len(hold.Series) > 0 {
				sum.Split = append(sum.Split, SplitResult{Detector: name,
					Dev: Score(dev, name, subScores(c, dev, scores)), DevWindows: dev.Windows(),
					Holdout: Score(hold, name, subScores(c, hold, scores)), HoldWindows: hold.Windows()})
			}
			return res
		}
		for i, det := range NABDetectors() {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
			res := add(det.Name(), Run(c, det))
			if i == 0 {
				gaussNAB = res.Profiles[0].Threshold
				// NAB's own published scores of the same baseline, re-scored by our scorer: the
				// check that baseline and scorer are NAB's.
				pub, ok, err := LoadPublishedScores(o.NAB, "windowedGaussian", c)
				if err != nil {
					return rep, fmt.Errorf("nab: published scores: %w", err)
				}
				if ok {
					add(publishedGaussian, pub)
				}
			}
		}
		rep.NAB = sum
	}

	data := Generate(o.Synth)
	type cand struct {
		label  string
		det    anomaly.Detector
		thresh string
	}
	cands := []cand{
		{"windowed Gaussian (baseline, |z| >= 2.5)", GaussianDetector{Window: 6400, Z: 2.5}, "|z| >= 2.5 (1 - Q >= 0.99379)"},
	}
	if !math.IsNaN(gaussNAB) && gaussNAB > 0.5 && gaussNAB < 1 {
		z := GaussianZ(gaussNAB)
		cands = append(cands, cand{"windowed Gaussian (baseline, NAB-tuned)", GaussianDetector{Window: 6400, Z: z},
			fmt.Sprintf("NAB standard optimum 1 - Q >= %.6f (|z| >= %.2f)", gaussNAB, z)})
	}
	cands = append(cands,
		cand{"calibrated (ours)", anomaly.NewCalibrated(), fmt.Sprintf("surprise -log10 p >= %g", anomaly.NewCalibrated().Thresh)},
		cand{"zscore (ours)", anomaly.NewZScore(), "|z| >= 2.5, 7 days before"},
		cand{"seasonal (ours)", anomaly.NewSeasonal(), "|robust z| >= 5"},
	)
	for i := range cands {
		cands[i].label = defaultMark(cands[i].label, cands[i].det)
	}
	for _, c := range cands {
		r, err := EvaluateSynthetic(ctx, data, c.det, o.MinImpact, c.label)
		if err != nil {
			return rep, err
		}
		rep.Synth = append(rep.Synth, r)
		rep.Thresh[c.label] = c.thresh
	}
	rep.Duration = time.Since(start)
	return rep, nil
}

// md escapes a table cell (detector names and thresholds contain "|z|").
func md(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func fmtThreshold(t float64) string {
	if math.IsInf(t, 1) {
		return "none fires"
	}
	return fmt.Sprintf("%.6g", t)
}

// profScore is the normalised score of profile i, "-" when the corpus has fewer profiles.
func profScore(ps []ProfileResult, i int) string {
	if i >= len(ps) {
		return "-"
	}
	return fmt.Sprintf("%.1f", ps[i].Score)
}

// Markdown renders the report as the tables of docs/anomaly-evaluation.md.
func (r Report) Markdown() string {
	var b strings.Builder
	if r.NAB != nil {
		n := r.NAB
		fmt.Fprintf(&b, "### NAB (%s): %d series, %d labelled windows, %d points\n\n", r.Options.NABLabel, n.Series, n.Windows, n.Points)
		b.WriteString("| Detector | standard | reward_low_FP_rate | reward_low_FN_rate | threshold (standard) | windows detected | false-alarm runs | precision | recall | F1 |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, res := range n.Results {
			p, rc, f1 := res.Events.PRF()
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d/%d | %d | %.3f | %.3f | %.3f |\n", md(res.Detector),
				profScore(res.Profiles, 0), profScore(res.Profiles, 1), profScore(res.Profiles, 2), fmtThreshold(res.Profiles[0].Threshold),
				res.Events.Detected, res.Events.Windows, res.Events.FalseAlarms, p, rc, f1)
		}
		if len(n.Split) > 0 {
			fmt.Fprintf(&b, "\nDevelopment categories (%s; %d windows) against the held-out rest (%d windows), each half with its own optimised thresholds:\n\n",
				strings.Join(NABDevCategories, ", "), n.Split[0].DevWindows, n.Split[0].HoldWindows)
			b.WriteString("| Detector | dev standard | dev low FP | dev low FN | held-out standard | held-out low FP | held-out low FN |\n|---|---:|---:|---:|---:|---:|---:|\n")
			for _, sp := range n.Split {
				d, h := sp.Dev.Profiles, sp.Holdout.Profiles
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", md(sp.Detector),
					profScore(d, 0), profScore(d, 1), profScore(d, 2), profScore(h, 0), profScore(h, 1), profScore(h, 2))
			}
		}
		b.WriteString("\nRaw scores (null / perfect / detector) and per-profile thresholds:\n\n")
		b.WriteString("| Detector | profile | threshold | raw | null | perfect |\n|---|---|---:|---:|---:|---:|\n")
		for _, res := range n.Results {
			for _, p := range res.Profiles {
				fmt.Fprintf(&b, "| %s | %s | %s | %.3f | %.3f | %.1f |\n", md(res.Detector), p.Profile, fmtThreshold(p.Threshold), p.Raw, p.Null, p.Perfect)
			}
		}
		b.WriteString("\n")
	}
	c := r.Options.Synth
	fmt.Fprintf(&b, "### Synthetic daily costs (seed %d): %d tenants x %d days from %s, %d injected events, minimum impact %s EUR\n\n",
		c.Seed, c.Tenants, c.Days, c.Start.Format(time.DateOnly), r.synthEvents(), r.Options.MinImpact.String())
	b.WriteString("| Detector | threshold | alerts | events detected | false positives | FP per tenant-month | precision | recall | F1 |")
	for _, k := range EventKinds {
		fmt.Fprintf(&b, " %s |", k)
	}
	b.WriteString("\n|---|---|---:|---:|---:|---:|---:|---:|---:|" + strings.Repeat("---:|", len(EventKinds)) + "\n")
	for _, s := range r.Synth {
		p, rc, f1 := s.PRF()
		fmt.Fprintf(&b, "| %s | %s | %d | %d/%d | %d | %.3f | %.3f | %.3f | %.3f |", md(s.Detector), md(r.Thresh[s.Detector]), s.Detections,
			s.Detected, s.Events, s.FalsePos, s.FPPerTenantMo, p, rc, f1)
		for _, k := range EventKinds {
			v := s.ByKind[k]
			fmt.Fprintf(&b, " %d/%d |", v[0], v[1])
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\n(run took %s)\n", r.Duration.Round(time.Millisecond))
	return b.String()
}

func (r Report) synthEvents() int {
	if len(r.Synth) == 0 {
		return 0
	}
	return r.Synth[0].Events
}
