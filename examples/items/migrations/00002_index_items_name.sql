-- +goose Up
-- The list is sorted and filtered by name: an index serves both.
CREATE INDEX IF NOT EXISTS items_name ON items (name);

-- +goose Down
DROP INDEX IF EXISTS items_name;
