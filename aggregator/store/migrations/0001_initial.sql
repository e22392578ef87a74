-- Initial schema. Portable SQL: runs unchanged on SQLite (>= 3.35) and PostgreSQL.
-- Times are seconds since the epoch (UTC) so both engines compare and subtract them alike.

CREATE TABLE sources (
    name TEXT PRIMARY KEY,
    url TEXT NOT NULL,                 -- as configured
    current_url TEXT NOT NULL,         -- after permanent redirects
    enabled INTEGER NOT NULL DEFAULT 1,
    disabled_reason TEXT,
    etag TEXT,
    last_modified TEXT,
    last_attempt DOUBLE PRECISION,
    last_success DOUBLE PRECISION,
    last_status TEXT,
    last_http_status INTEGER,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    last_problem TEXT,
    redirected_from TEXT,
    next_poll DOUBLE PRECISION NOT NULL DEFAULT 0,
    poll_interval DOUBLE PRECISION,
    fetch_count INTEGER NOT NULL DEFAULT 0,
    fetch_seconds_total DOUBLE PRECISION NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_expires DOUBLE PRECISION
);

CREATE TABLE stories (
    story_id TEXT PRIMARY KEY,
    primary_item_id TEXT NOT NULL,
    published DOUBLE PRECISION NOT NULL,
    updated DOUBLE PRECISION NOT NULL
);
CREATE INDEX stories_published ON stories (published);

CREATE TABLE items (
    item_id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    item_key TEXT NOT NULL,
    story_id TEXT NOT NULL,
    link TEXT,
    canonical_link TEXT,
    title TEXT NOT NULL,
    summary_html TEXT NOT NULL,
    content_html TEXT NOT NULL,
    title_text TEXT NOT NULL,
    summary_text TEXT NOT NULL,
    content_text TEXT NOT NULL,
    author TEXT,
    categories TEXT NOT NULL,          -- JSON array
    published DOUBLE PRECISION NOT NULL,
    updated DOUBLE PRECISION,
    first_seen DOUBLE PRECISION NOT NULL,
    changed_at DOUBLE PRECISION NOT NULL,
    content_hash TEXT NOT NULL,
    fingerprint TEXT NOT NULL,         -- JSON, see aggregator.dedupe.Fingerprint
    UNIQUE (source, item_key)
);
CREATE INDEX items_story ON items (story_id);
CREATE INDEX items_published ON items (published);
CREATE INDEX items_canonical_link ON items (canonical_link);
CREATE INDEX items_source_first_seen ON items (source, first_seen);

-- The near-duplicate index: one row per LSH band of each item.
CREATE TABLE story_bands (
    band TEXT NOT NULL,
    item_id TEXT NOT NULL,
    story_id TEXT NOT NULL,
    published DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (band, item_id)
);
-- Candidate lookups read one band's rows within the dedupe window.
CREATE INDEX story_bands_band_published ON story_bands (band, published);

CREATE TABLE matches (
    topic TEXT NOT NULL,
    item_id TEXT NOT NULL,
    story_id TEXT NOT NULL,
    hits TEXT NOT NULL,                -- JSON [[term, field], ...]
    matched_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (topic, item_id)
);
CREATE INDEX matches_topic_story ON matches (topic, story_id);
CREATE INDEX matches_item ON matches (item_id);

CREATE TABLE topic_state (
    topic TEXT PRIMARY KEY,
    version BIGINT NOT NULL DEFAULT 0,
    changed_at DOUBLE PRECISION NOT NULL,
    rules_hash TEXT
);
