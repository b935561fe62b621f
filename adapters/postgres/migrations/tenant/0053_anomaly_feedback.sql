-- Issue 17 item 6: the latest verdict a user gave on an anomaly. EXPECTED and
-- FALSE_POSITIVE mute alerts of the same series (service) for a while from feedback_at;
-- the partial index serves the scanner's lookup of muting verdicts.
ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS feedback_verdict text
    CHECK (feedback_verdict IN ('EXPECTED', 'FALSE_POSITIVE', 'CONFIRMED'));
ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS feedback_note text;
ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS feedback_by text;
ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS feedback_at timestamptz;
ALTER TABLE anomalies ADD CONSTRAINT anomalies_feedback_consistent
    CHECK ((feedback_verdict IS NULL) = (feedback_at IS NULL) AND (feedback_verdict IS NULL) = (feedback_by IS NULL));
CREATE INDEX IF NOT EXISTS anomalies_muting ON anomalies (service, feedback_at)
    WHERE feedback_verdict IN ('EXPECTED', 'FALSE_POSITIVE');
