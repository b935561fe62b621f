-- Issue 17 item 4: episodes. Consecutive anomalous days of one series are one anomaly: day
-- is its start, last_day its latest anomalous day, end_date = last_day once CLOSED (NULL
-- while OPEN), total_impact the sum of the daily impacts, max_deviation_pct the largest
-- deviation. Rows from before are one-day closed episodes.
ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS status text NOT NULL DEFAULT 'CLOSED' CHECK (status IN ('OPEN', 'CLOSED'));
ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS last_day date;
UPDATE anomalies SET last_day = day WHERE last_day IS NULL;
ALTER TABLE anomalies ALTER COLUMN last_day SET NOT NULL;
ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS end_date date;
UPDATE anomalies SET end_date = last_day WHERE end_date IS NULL AND status = 'CLOSED';
ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS total_impact numeric;
UPDATE anomalies SET total_impact = impact_amount WHERE total_impact IS NULL;
ALTER TABLE anomalies ALTER COLUMN total_impact SET NOT NULL;
ALTER TABLE anomalies ADD CONSTRAINT anomalies_total_impact_nonnegative CHECK (total_impact >= 0);
ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS max_deviation_pct numeric;
UPDATE anomalies SET max_deviation_pct = deviation_pct WHERE max_deviation_pct IS NULL;
ALTER TABLE anomalies ADD CONSTRAINT anomalies_episode_consistent
    CHECK (last_day >= day AND (status = 'OPEN') = (end_date IS NULL));
CREATE INDEX IF NOT EXISTS anomalies_episodes ON anomalies (status, last_day);
