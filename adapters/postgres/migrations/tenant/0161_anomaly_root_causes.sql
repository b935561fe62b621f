-- Issue 17 item 5: the attribute values that explain an anomaly (episode), ranked by the
-- scanner from billing_usage_attributes; a JSON array of {dimension, value, expected,
-- actual, contribution, share_pct} with decimal strings.
ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS root_causes jsonb NOT NULL DEFAULT '[]';
