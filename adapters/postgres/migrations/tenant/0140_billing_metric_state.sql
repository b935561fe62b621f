-- The month state of the non-additive metrics (issue 13 item 7). Their day buckets hold the
-- change each event made to the month's aggregate, so the buckets of a month still sum to
-- its billable quantity; what that change is depends on this state, locked with the month's
-- billing_usage_months row:
--   LATEST: the timestamp of the month's latest event so far;
--   UNIQUE_COUNT: the values seen in the month, as SHA-256 digests (an attribute counted
--   distinct is often a user id; subject erasure moves a subject's digest to its pseudonym's).
CREATE TABLE IF NOT EXISTS billing_usage_latest (
    month         date        NOT NULL,
    resource_type text        NOT NULL,
    occurred_at   timestamptz NOT NULL,
    PRIMARY KEY (month, resource_type)
);

CREATE TABLE IF NOT EXISTS billing_usage_distinct (
    month         date NOT NULL,
    resource_type text NOT NULL,
    value_sha256  text NOT NULL,
    PRIMARY KEY (month, resource_type, value_sha256)
);

