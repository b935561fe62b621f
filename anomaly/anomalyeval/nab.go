package anomalyeval

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Profile is a NAB cost matrix.
type Profile struct {
	Name           string
	TP, FP, FN, TN float64
}

// DefaultProfiles are NAB's three profiles (config/profiles.json).
var DefaultProfiles = []Profile{
	{Name: "standard", TP: 1, FP: 0.11, FN: 1, TN: 1},
	{Name: "reward_low_FP_rate", TP: 1, FP: 0.22, FN: 1, TN: 1},
	{Name: "reward_low_FN_rate", TP: 1, FP: 0.11, FN: 2, TN: 1},
}

// Series is one labelled NAB series.
type Series struct {
	Name    string // "<category>/<file>.csv", NAB's key
	Times   []time.Time
	Values  []float64
	Windows [][2]int // inclusive index ranges of the labelled anomaly windows, in order
}

// Corpus is a set of labelled series and the scoring profiles.
type Corpus struct {
	Series   []Series
	Profiles []Profile
}

// Windows counts the labelled windows of the corpus (NAB's tpCount).
func (c Corpus) Windows() int {
	n := 0
	for _, s := range c.Series {
		n += len(s.Windows)
	}
	return n
}

const nabTime = "2006-01-02 15:04:05"

func parseNABTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s = s[:i]
	}
	return time.Parse(nabTime, s)
}

// LoadNAB reads a NAB tree: data/<category>/<series>.csv, labels/combined_windows.json and,
// when present, config/profiles.json. Only series with both data and labels are loaded.
func LoadNAB(fsys fs.FS) (Corpus, error) {
	var c Corpus
	raw, err := fs.ReadFile(fsys, "labels/combined_windows.json")
	if err != nil {
		return c, err
	}
	var windows map[string][][2]string
	if err := json.Unmarshal(raw, &windows); err != nil {
		return c, fmt.Errorf("combined_windows.json: %w", err)
	}
	c.Profiles = DefaultProfiles
	if raw, err := fs.ReadFile(fsys, "config/profiles.json"); err == nil {
		var ps map[string]struct {
			CostMatrix struct {
				TP float64 `json:"tpWeight"`
				FP float64 `json:"fpWeight"`
				FN float64 `json:"fnWeight"`
				TN float64 `json:"tnWeight"`
			}
		}
		if err := json.Unmarshal(raw, &ps); err != nil {
			return c, fmt.Errorf("profiles.json: %w", err)
		}
		c.Profiles = nil
		for _, p := range DefaultProfiles { // keep NAB's order
			if m, ok := ps[p.Name]; ok {
				c.Profiles = append(c.Profiles, Profile{p.Name, m.CostMatrix.TP, m.CostMatrix.FP, m.CostMatrix.FN, m.CostMatrix.TN})
			}
		}
	}
	names := make([]string, 0, len(windows))
	for name := range windows {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		f, err := fsys.Open(path.Join("data", name))
		if err != nil {
			continue // labelled series not in this copy
		}
		s, err := readSeries(name, f)
		f.Close()
		if err != nil {
			return c, err
		}
		for _, w := range windows[name] {
			a, err1 := parseNABTime(w[0])
			b, err2 := parseNABTime(w[1])
			if err1 != nil || err2 != nil {
				return c, fmt.Errorf("%s: bad window %v", name, w)
			}
			// NAB looks the window edges up by exact timestamp; they always are data points.
			i := sort.Search(len(s.Times), func(i int) bool { return !s.Times[i].Before(a) })
			j := sort.Search(len(s.Times), func(i int) bool { return s.Times[i].After(b) }) - 1
			if i >= len(s.Times) || j < i {
				return c, fmt.Errorf("%s: window %v outside the data", name, w)
			}
			s.Windows = append(s.Windows, [2]int{i, j})
		}
		c.Series = append(c.Series, s)
	}
	if len(c.Series) == 0 {
		return c, fmt.Errorf("no labelled series found under data/")
	}
	return c, nil
}

func readSeries(name string, r io.Reader) (Series, error) {
	s := Series{Name: name}
	cr := csv.NewReader(r)
	rows, err := cr.ReadAll()
	if err != nil {
		return s, fmt.Errorf("%s: %w", name, err)
	}
	for i, row := range rows {
		if i == 0 || len(row) < 2 {
			continue // header
		}
		t, err := parseNABTime(row[0])
		if err != nil {
			return s, fmt.Errorf("%s line %d: %w", name, i+1, err)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(row[1]), 64)
		if err != nil {
			return s, fmt.Errorf("%s line %d: %w", name, i+1, err)
		}
		s.Times = append(s.Times, t)
		s.Values = append(s.Values, v)
	}
	return s, nil
}

// PointsPerDay is the series' number of points per day from its median sampling interval.
func (s Series) PointsPerDay() int {
	if len(s.Times) < 2 {
		return 1
	}
	d := make([]float64, 0, len(s.Times)-1)
	for i := 1; i < len(s.Times); i++ {
		d = append(d, s.Times[i].Sub(s.Times[i-1]).Seconds())
	}
	sort.Float64s(d)
	step := d[len(d)/2]
	if step <= 0 {
		return 1
	}
	return max(1, int(math.Round(86400/step)))
}

// Run scores every series of c with det in streaming order.
func Run(c Corpus, det StreamDetector) [][]float64 {
	out := make([][]float64, len(c.Series))
	for i, s := range c.Series {
		det.Reset(s.PointsPerDay())
		sc := make([]float64, len(s.Values))
		for j, v := range s.Values {
			sc[j] = det.Next(s.Times[j], v)
		}
		out[i] = sc
	}
	return out
}

// ProbationaryLength is NAB's: min(floor(0.15 * n), 0.15 * 5000).
func ProbationaryLength(n int) int {
	return int(math.Min(math.Floor(0.15*float64(n)), 0.15*5000))
}

// scaledSigmoid is NAB's: 2*sigmoid(-5x) - 1, and -1 from 3.0 on.
func scaledSigmoid(x float64) float64 {
	if x >= 3.0 {
		return -1.0
	}
	return 2/(1+math.Exp(5*x)) - 1
}

// sweepPoint is one scorable point (NAB's AnomalyPoint).
type sweepPoint struct {
	score  float64
	weight float64 // NAB's sweepScore
	window int     // global window id, -1 outside windows
}

// sweepPoints is NAB's Sweeper.calcSweepScore for one series: each point's weighted score if
// it were detected. Points in the probationary period are dropped. Window ids start at
// firstWindow.
func sweepPoints(s Series, scores []float64, p Profile, firstWindow int) []sweepPoint {
	maxTP := scaledSigmoid(-1.0)
	prob := ProbationaryLength(len(scores))
	out := make([]sweepPoint, 0, len(scores))
	wi := 0   // next window
	cur := -1 // current window index, -1 outside
	prevRight, prevWidth := -1, 0.0
	for i, sc := range scores {
		if cur < 0 && wi < len(s.Windows) && i == s.Windows[wi][0] {
			cur = wi
			wi++
		}
		var weight float64
		if cur >= 0 {
			right := s.Windows[cur][1]
			width := float64(right - s.Windows[cur][0] + 1)
			pos := -float64(right-i+1) / width
			weight = scaledSigmoid(pos) * p.TP / maxTP
		} else {
			pos := 3.0
			if prevRight >= 0 {
				pos = math.Abs(float64(prevRight-i)) / (prevWidth - 1)
			}
			weight = scaledSigmoid(pos) * p.FP
		}
		if i >= prob {
			w := -1
			if cur >= 0 {
				w = firstWindow + cur
			}
			out = append(out, sweepPoint{score: sc, weight: weight, window: w})
		}
		if cur >= 0 && i == s.Windows[cur][1] {
			prevRight = i
			prevWidth = float64(s.Windows[cur][1] - s.Windows[cur][0] + 1)
			cur = -1
		}
	}
	return out
}

// ThresholdScore is the raw NAB score of a detector at one threshold (detect when score >=
// Threshold), with NAB's point counts.
type ThresholdScore struct {
	Threshold      float64
	Score          float64
	TP, TN, FP, FN int
}

// sweep is NAB's calcScoreByThreshold over the points of a whole corpus: walking down the
// distinct scores, it records the score of "detect when score >= t" for every t (and for
// 1.1 + max, nothing detected). Each window counts its best (earliest-detected) point once;
// a window never detected costs FN.
func sweep(points []sweepPoint, nWindows int, p Profile) []ThresholdScore {
	sort.SliceStable(points, func(i, j int) bool { return points[i].score > points[j].score })
	// Only windows with scorable points take part (NAB builds its parts from them).
	part := make([]float64, nWindows)
	present := make([]bool, nWindows)
	fpSum := 0.0
	tn, fn := 0, 0
	for _, pt := range points {
		if pt.window >= 0 {
			present[pt.window] = true
			fn++
		} else {
			tn++
		}
	}
	total := 0.0
	for w := range part {
		if present[w] {
			part[w] = -p.FN
			total += part[w]
		}
	}
	tp, fp := 0, 0
	cur := math.Inf(1)
	var out []ThresholdScore
	for _, pt := range points {
		if pt.score != cur {
			out = append(out, ThresholdScore{Threshold: cur, Score: total + fpSum, TP: tp, TN: tn, FP: fp, FN: fn})
			cur = pt.score
		}
		if pt.window >= 0 {
			tp++
			fn--
			if pt.weight > part[pt.window] {
				total += pt.weight - part[pt.window]
				part[pt.window] = pt.weight
			}
		} else {
			fp++
			tn--
			fpSum += pt.weight
		}
	}
	out = append(out, ThresholdScore{Threshold: cur, Score: total + fpSum, TP: tp, TN: tn, FP: fp, FN: fn})
	return out
}

// ProfileResult is a detector's NAB result under one profile.
type ProfileResult struct {
	Profile   string
	Threshold float64 // chosen to maximise the raw score
	Raw       float64
	Null      float64 // raw score of the null detector
	Perfect   float64 // windows x tpWeight
	Score     float64 // 100 * (Raw - Null) / (Perfect - Null)
}

// EventCounts is the event-level view at one threshold: a window is detected when any of its
// scorable points is flagged; false alarms are runs of consecutive flagged points outside
// windows (after the probationary period).
type EventCounts struct {
	Windows, Detected, FalseAlarms int
}

// PRF is precision = detected / (detected + false alarms), recall = detected / windows and
// their harmonic mean.
func (e EventCounts) PRF() (p, r, f1 float64) {
	if e.Detected+e.FalseAlarms > 0 {
		p = float64(e.Detected) / float64(e.Detected+e.FalseAlarms)
	}
	if e.Windows > 0 {
		r = float64(e.Detected) / float64(e.Windows)
	}
	if p+r > 0 {
		f1 = 2 * p * r / (p + r)
	}
	return p, r, f1
}

// NABResult is a detector's result on a corpus.
type NABResult struct {
	Detector string
	Profiles []ProfileResult
	// Events at the standard profile's threshold.
	Events EventCounts
}

// Score runs NAB's scoring of scores (one slice per series of c, from Run) under every
// profile: threshold optimised over the whole corpus, normalised so that the null detector
// scores 0 and the perfect detector 100.
func Score(c Corpus, name string, scores [][]float64) NABResult {
	res := NABResult{Detector: name}
	nw := c.Windows()
	null := make([][]float64, len(scores))
	for i, s := range scores {
		null[i] = make([]float64, len(s)) // NAB's null detector: a constant score
	}
	for _, p := range c.Profiles {
		best := bestThreshold(c, scores, p)
		nullBest := bestThreshold(c, null, p)
		perfect := float64(nw) * p.TP
		pr := ProfileResult{Profile: p.Name, Threshold: best.Threshold, Raw: best.Score, Null: nullBest.Score, Perfect: perfect}
		pr.Score = 100 * (pr.Raw - pr.Null) / (perfect - pr.Null)
		res.Profiles = append(res.Profiles, pr)
	}
	if len(res.Profiles) > 0 {
		res.Events = Events(c, scores, res.Profiles[0].Threshold)
	}
	return res
}

func bestThreshold(c Corpus, scores [][]float64, p Profile) ThresholdScore {
	var pts []sweepPoint
	first := 0
	for i, s := range c.Series {
		pts = append(pts, sweepPoints(s, scores[i], p, first)...)
		first += len(s.Windows)
	}
	all := sweep(pts, first, p)
	best := all[0]
	for _, ts := range all[1:] {
		if ts.Score > best.Score {
			best = ts
		}
	}
	return best
}

// Events counts detected windows and false-alarm runs when flagging score >= threshold.
func Events(c Corpus, scores [][]float64, threshold float64) EventCounts {
	var e EventCounts
	for i, s := range c.Series {
		prob := ProbationaryLength(len(scores[i]))
		in := make([]int, len(scores[i]))
		for j := range in {
			in[j] = -1
		}
		for w, win := range s.Windows {
			for j := win[0]; j <= win[1]; j++ {
				in[j] = w
			}
		}
		detected := make([]bool, len(s.Windows))
		scorable := make([]bool, len(s.Windows))
		prevFA := false
		for j, sc := range scores[i] {
			if j < prob {
				continue
			}
			if in[j] >= 0 {
				scorable[in[j]] = true
			}
			flag := sc >= threshold
			switch {
			case flag && in[j] >= 0:
				detected[in[j]] = true
				prevFA = false
			case flag:
				if !prevFA {
					e.FalseAlarms++
				}
				prevFA = true
			default:
				prevFA = false
			}
		}
		for w := range s.Windows {
			if scorable[w] {
				e.Windows++
				if detected[w] {
					e.Detected++
				}
			}
		}
	}
	return e
}
