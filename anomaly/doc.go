// Package anomaly detects cost anomalies in tenants' daily cost series, explains them and
// notifies. It reads series through a port (SeriesSource) and does not import billing.
//
// Detection. Three detectors implement Detector: ZScore (the seed rule made able to fire:
// 2.5 sigma against the 7 days BEFORE the scored day, at least 3 points, with a sigma floor),
// Seasonal (weekday-aware, median/MAD, month-start aware, explicit cold start) and
// Calibrated, the default (DefaultDetector): Seasonal's model plus a drift view, each turned
// into a tail probability by the series' own past (Tail), so that its score, -log10 p, means
// the same on every series and one threshold serves every tenant. A Gate
// turns an Evaluation into a Finding only when both the statistical score and the absolute
// impact in EUR pass (the dual gate); during cold start only rules apply (new spend, and a
// day above 10x the largest so far). Scores are float64; every reported amount (expected,
// actual, impact) is an exact decimal.
//
// Scanning. A Scanner reads every ACTIVE tenant's series (TenantLister), judges each
// resource's last complete day and, when no single resource explains it, the tenant's total;
// stores each anomaly once per tenant/service/day (Store.Insert is idempotent); suppresses
// repeats of acknowledged patterns; notifies new ones (Notifier: a signed webhook or a log);
// and raises a budget alert when the month-end projection crosses the tenant's
// cost_alert_threshold.
package anomaly
