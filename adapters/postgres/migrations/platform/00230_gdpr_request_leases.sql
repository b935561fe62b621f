-- +goose Up
-- Run leases of GDPR requests (gdpr.LeaseStore): the process working on an export or erasure
-- renews its lease; one whose lease expired died, and a sweeper enqueues its request again.
-- An empty owner marks a request whose job is queued. Rows go when the run ends.
CREATE TABLE IF NOT EXISTS eusaas.gdpr_request_leases (
    request_id uuid PRIMARY KEY,
    owner      text NOT NULL,
    expires_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE IF EXISTS eusaas.gdpr_request_leases;
