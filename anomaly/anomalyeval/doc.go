// Package anomalyeval measures the anomaly detectors: the Numenta Anomaly Benchmark (NAB)
// scoring, implemented as NAB's own scorer does it, on NAB data read from a directory, and a
// seeded synthetic generator of tenants' daily costs with labelled anomalies, scanned day by
// day with the real anomaly.Scanner.
//
// Everything here is evaluation, not money: it works in float64.
package anomalyeval
