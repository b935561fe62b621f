-- Issue 17 item 5: per-attribute daily usage aggregates, maintained by usage ingestion in the
-- same transaction as the buckets, for anomaly root causes (raw events and their attributes
-- last only as long as the dedup window). billing_usage_attribute_values holds the distinct
-- values kept per key (at most billing.MaxAttributeValues; later new values are aggregated
-- under '(other)'). Attribute values may be personal data: subject erasure pseudonymises
-- them here as in billing_usage_events.
CREATE TABLE IF NOT EXISTS billing_usage_attributes (
    day           date    NOT NULL,
    resource_type text    NOT NULL,
    attr_key      text    NOT NULL,
    attr_value    text    NOT NULL,
    quantity      numeric NOT NULL,
    PRIMARY KEY (day, resource_type, attr_key, attr_value)
);
CREATE TABLE IF NOT EXISTS billing_usage_attribute_values (
    attr_key   text NOT NULL,
    attr_value text NOT NULL,
    PRIMARY KEY (attr_key, attr_value)
);
