-- Retention now finds an item's band rows by their primary key, from the bands in its
-- stored fingerprint; the item index cost every one of the 34 band inserts per new
-- item for the sake of that rare delete. (SQLite also drops its rowid: see the
-- .sqlite.sql twin of this migration.)
DROP INDEX story_bands_item;
