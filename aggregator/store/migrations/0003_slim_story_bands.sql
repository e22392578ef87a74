-- story_bands holds 34 rows per item (most of the database) and takes every new item's
-- inserts at random keys, so every structure on it costs. One covering key serves both
-- the candidate lookup (a band within a date range) and idempotent inserts, and the
-- story id is read from items, which the lookup joins anyway: three B-trees instead of
-- four, rows without a 36-character story id.
CREATE TABLE story_bands_new (
    band TEXT NOT NULL,
    published DOUBLE PRECISION NOT NULL,
    item_id TEXT NOT NULL,
    PRIMARY KEY (band, published, item_id)
);
INSERT INTO story_bands_new (band, published, item_id)
    SELECT band, published, item_id FROM story_bands;
DROP TABLE story_bands;
ALTER TABLE story_bands_new RENAME TO story_bands;
-- Retention deletes an item's bands by item id.
CREATE INDEX story_bands_item ON story_bands (item_id);
-- The same-link merge lookup (a canonical link within the dedupe window) as one index
-- range whatever the planner's statistics: with none (a fresh table, autovacuum off)
-- PostgreSQL combined the link index with the whole date range of items_published.
CREATE INDEX items_canonical_link_published ON items (canonical_link, published);
DROP INDEX items_canonical_link;
