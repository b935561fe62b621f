// Package anomaly detects cost anomalies in tenants' daily cost series, explains them and
// notifies. It reads series through a port and does not import billing.
package anomaly
