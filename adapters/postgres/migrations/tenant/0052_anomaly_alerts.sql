-- Issue 17 item 3: every anomaly is stored; alerting is the tenant's choice. alerted says
-- someone was told (the platform's notifier or a subscription); alerted_subscriptions holds
-- the ids (JSON strings, in firing order) of the subscriptions that fired. Rows from before
-- were all notified unless suppressed.
ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS alerted boolean NOT NULL DEFAULT false;
ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS alerted_subscriptions jsonb NOT NULL DEFAULT '[]'::jsonb;
UPDATE anomalies SET alerted = true WHERE suppressed_by IS NULL AND NOT alerted;

-- The tenant's alert subscriptions, replaced as a whole (position keeps the order set).
-- channels: [{type, url, secret} | {type, address}]; the webhook secret is kept to sign
-- with and never shown by the API.
CREATE TABLE IF NOT EXISTS anomaly_alert_subscriptions (
    id               uuid PRIMARY KEY,
    position         integer NOT NULL UNIQUE CHECK (position >= 0),
    threshold_amount numeric CHECK (threshold_amount >= 0),
    threshold_pct    numeric CHECK (threshold_pct >= 0),
    combine          text NOT NULL CHECK (combine IN ('AND', 'OR')),
    frequency        text NOT NULL CHECK (frequency IN ('IMMEDIATE', 'DAILY', 'WEEKLY')),
    channels         jsonb NOT NULL
);
