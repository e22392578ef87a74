-- Indexes for many workers and a long retention.
-- Renewing and releasing leases finds a worker's rows by owner (every lease/3 seconds).
CREATE INDEX sources_lease_owner ON sources (lease_owner);
-- Retention deletes an item's bands by item id; without this it scans every band row.
CREATE INDEX story_bands_item ON story_bands (item_id);
