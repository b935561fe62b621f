-- Cost anomalies of the tenant, at most one per service and day (the scanner's idempotency
-- key). Money columns are NUMERIC; the score is a statistic and may be a float.
CREATE TABLE IF NOT EXISTS anomalies (
    id              uuid PRIMARY KEY,
    day             date NOT NULL,
    detected_at     timestamptz NOT NULL,
    service         text NOT NULL CHECK (length(service) BETWEEN 1 AND 64),
    kind            text NOT NULL CHECK (kind IN ('SPIKE', 'DROP', 'NEW_SPEND', 'BUDGET')),
    rule            text NOT NULL,
    severity        text NOT NULL CHECK (severity IN ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL')),
    score           double precision NOT NULL,
    expected_amount numeric NOT NULL,
    actual_amount   numeric NOT NULL,
    impact_amount   numeric NOT NULL CHECK (impact_amount >= 0),
    deviation_pct   numeric,
    description     text NOT NULL,
    -- [{resource, expected, actual, delta, share_pct}] with decimal strings
    contributions   jsonb NOT NULL DEFAULT '[]'::jsonb,
    acknowledged    boolean NOT NULL DEFAULT false,
    acknowledged_by text,
    acknowledged_at timestamptz,
    suppressed_by   uuid,
    CONSTRAINT anomalies_service_day UNIQUE (service, day),
    CONSTRAINT anomalies_ack_consistent CHECK (acknowledged = (acknowledged_at IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS anomalies_list ON anomalies (day DESC, service, id);
CREATE INDEX IF NOT EXISTS anomalies_acknowledged ON anomalies (service, day) WHERE acknowledged;
