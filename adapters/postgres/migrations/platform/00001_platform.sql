-- +goose Up
-- The platform schema itself is created before goose runs (goose keeps its table in it).
CREATE TABLE IF NOT EXISTS eusaas.platform_info (
    key   text PRIMARY KEY,
    value text NOT NULL
);

-- +goose Down
DROP TABLE IF EXISTS eusaas.platform_info;
