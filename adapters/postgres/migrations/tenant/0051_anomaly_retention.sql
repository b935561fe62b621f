-- Retention of anomalies (GDPRData's generic retention: tables with created_at and deleted_at).
-- created_at is when the anomaly was recorded, i.e. its detected_at (the store writes both
-- the same); existing rows are backfilled from detected_at. Past default_retention_days the
-- row gets deleted_at (soft delete: every store read ignores it) and is hard-deleted after
-- the grace period. A soft-deleted row keeps its (service, day) key until then, so the
-- scanner does not re-detect and re-notify a finding retention has removed.
ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS created_at timestamptz;
UPDATE anomalies SET created_at = detected_at WHERE created_at IS NULL;
-- The default only serves writers that predate this migration (rolling deploys).
ALTER TABLE anomalies ALTER COLUMN created_at SET DEFAULT now(), ALTER COLUMN created_at SET NOT NULL;
ALTER TABLE anomalies ADD COLUMN IF NOT EXISTS deleted_at timestamptz;
