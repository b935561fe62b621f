package anomalyeval

import (
	"encoding/csv"
	"fmt"
	"io/fs"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// NABGaussian is NAB's windowedGaussian baseline exactly as NAB runs it
// (nab/detectors/gaussian): the score of a value is 1 - Q(|x - mean| / std), Q the Gaussian
// tail, against the mean and population std of a window of earlier values; 0 for the first
// value. The window grows by one value per step up to WindowSize (6400) values, mean and std
// refreshed after every value; once full, new values are buffered and every StepSize (100)
// values the window drops its oldest StepSize values, takes the buffered ones and is
// refreshed, so between refreshes the model is frozen. A std of 0 becomes 1e-6.
//
// Sums are numpy's pairwise sums (what numpy.mean and numpy.std compute), so the scores
// match NAB's published per-point scores to the last of the 12 digits NAB stores.
type NABGaussian struct {
	WindowSize, StepSize int
	label                string
	window, step         []float64
	sq                   []float64 // scratch for the squared deviations
	mean, std            float64
}

// NewNABGaussian returns NAB's configuration: window 6400, step 100.
func NewNABGaussian() *NABGaussian {
	return &NABGaussian{WindowSize: 6400, StepSize: 100, label: "windowedGaussian (NAB baseline)"}
}

// NewSlidingGaussian is the earlier, unfaithful variant, kept as a labelled control: a
// window of the previous 1000 values that slides by one value per step.
func NewSlidingGaussian() *NABGaussian {
	return &NABGaussian{WindowSize: 1000, StepSize: 1, label: "windowedGaussian, 1000-point sliding window (control)"}
}

// Name implements StreamDetector.
func (g *NABGaussian) Name() string { return g.label }

// Reset implements StreamDetector.
func (g *NABGaussian) Reset(int) {
	g.window, g.step, g.mean, g.std = g.window[:0], g.step[:0], 0, 1
}

// Next implements StreamDetector.
func (g *NABGaussian) Next(_ time.Time, v float64) float64 {
	score := 0.0
	if len(g.window) > 0 {
		score = 1 - normalTail(v, g.mean, g.std)
	}
	if len(g.window) < g.WindowSize {
		g.window = append(g.window, v)
		g.refresh()
		return score
	}
	g.step = append(g.step, v)
	if len(g.step) == g.StepSize {
		g.window = append(g.window[:0], g.window[g.StepSize:]...)
		g.window = append(g.window, g.step...)
		g.step = g.step[:0]
		g.refresh()
	}
	return score
}

// refresh is numpy.mean and numpy.std (population) of the window.
func (g *NABGaussian) refresh() {
	n := float64(len(g.window))
	g.mean = pairwiseSum(g.window) / n
	g.sq = g.sq[:0]
	for _, x := range g.window {
		d := x - g.mean
		g.sq = append(g.sq, d*d)
	}
	g.std = math.Sqrt(pairwiseSum(g.sq) / n)
	if g.std == 0 {
		g.std = 0.000001
	}
}

// pairwiseSum is numpy's pairwise summation of float64 (numpy/core/src/umath/loops_utils):
// below 8 values a plain loop; up to 128 values eight interleaved accumulators combined as
// ((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7)) plus the remainder; above that the two halves (the
// first a multiple of 8 long) summed recursively. The order of additions decides the last
// bits, and those decide NAB's 12th digit near 1 - Q = 1.
func pairwiseSum(a []float64) float64 {
	n := len(a)
	switch {
	case n < 8:
		res := 0.0
		for _, x := range a {
			res += x
		}
		return res
	case n <= 128:
		var r [8]float64
		copy(r[:], a[:8])
		i := 8
		for ; i < n-n%8; i += 8 {
			for k := range r {
				r[k] += a[i+k]
			}
		}
		res := ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
		for ; i < n; i++ {
			res += a[i]
		}
		return res
	}
	n2 := n / 2
	n2 -= n2 % 8
	return pairwiseSum(a[:n2]) + pairwiseSum(a[n2:])
}

// LoadPublishedScores reads a NAB detector's published per-point scores for the series of c
// (results/<detector>/<category>/<detector>_<file>); ok is false when the tree has no such
// results. Every series must then have one score per data point.
func LoadPublishedScores(fsys fs.FS, detector string, c Corpus) (scores [][]float64, ok bool, err error) {
	if _, err := fs.Stat(fsys, path.Join("results", detector)); err != nil {
		return nil, false, nil
	}
	for _, s := range c.Series {
		cat, file, _ := strings.Cut(s.Name, "/")
		f, err := fsys.Open(path.Join("results", detector, cat, detector+"_"+file))
		if err != nil {
			return nil, true, err
		}
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			return nil, true, fmt.Errorf("%s: %w", s.Name, err)
		}
		if len(rows) != len(s.Values)+1 {
			return nil, true, fmt.Errorf("%s: %d published scores for %d points", s.Name, len(rows)-1, len(s.Values))
		}
		col := slices.Index(rows[0], "anomaly_score")
		if col < 0 {
			return nil, true, fmt.Errorf("%s: no anomaly_score column", s.Name)
		}
		sc := make([]float64, len(s.Values))
		for i, row := range rows[1:] {
			if sc[i], err = strconv.ParseFloat(strings.TrimSpace(row[col]), 64); err != nil {
				return nil, true, fmt.Errorf("%s line %d: %w", s.Name, i+2, err)
			}
		}
		scores = append(scores, sc)
	}
	return scores, true, nil
}
