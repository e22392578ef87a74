-- The current schema, in one place: a fresh store is created from this file and records
-- every migration as applied; a store of an older version upgrades through
-- migrations/ instead. Change both together (tests/test_store_schema.py checks that
-- both ways end in the same tables, columns and indexes, on SQLite and PostgreSQL).
--
-- Portable SQL: runs unchanged on SQLite (>= 3.35) and PostgreSQL, except for a
-- `/*engine: clause*/` comment, which the migrator replaces by the clause for that
-- engine (and both engines otherwise ignore as a comment).
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
-- Renewing and releasing leases finds a worker's rows by owner (every lease/3 seconds).
CREATE INDEX sources_lease_owner ON sources (lease_owner);

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
    fingerprint TEXT NOT NULL,         -- JSON (aggregator.core.dedupe.Fingerprint), or ''
    UNIQUE (source, item_key)
);
CREATE INDEX items_story ON items (story_id);
CREATE INDEX items_published ON items (published);
CREATE INDEX items_source_first_seen ON items (source, first_seen);
-- The same-link merge lookup: a canonical link within the dedupe window, as one range.
CREATE INDEX items_canonical_link_published ON items (canonical_link, published);

-- The near-duplicate index: one row per LSH band of each fingerprinted item (34 per
-- item, most of the database, inserted at random keys), so nothing but its key: that
-- serves the candidate lookup (a band within a date range), idempotent inserts and
-- retention (which reads an item's bands from its stored fingerprint). On SQLite the
-- key is the table itself (one B-tree instead of two).
CREATE TABLE story_bands (
    band TEXT NOT NULL,
    published DOUBLE PRECISION NOT NULL,
    item_id TEXT NOT NULL,
    PRIMARY KEY (band, published, item_id)
) /*sqlite: WITHOUT ROWID*/;

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

-- A curator's story decisions (`aggregator merge`, `aggregator split`): pairs of items
-- that are (same = 1) or are not (same = 0) one story, whatever the automatic decision
-- says. Later polls, re-matches and `aggregator redecide` respect them.
CREATE TABLE story_decisions (
    item_id TEXT NOT NULL,
    other_id TEXT NOT NULL,
    same INTEGER NOT NULL,
    decided_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (item_id, other_id)
);
CREATE INDEX story_decisions_other ON story_decisions (other_id);

-- Full-text search over stored items (see migrations/0006_search.*.sql for why each
-- engine's index is built as it is). SQLite: an external-content FTS5 index kept in step
-- by triggers; PostgreSQL: a generated, weighted tsvector with a GIN index.
/*sqlite: CREATE VIRTUAL TABLE items_fts USING fts5 (
    title_text, summary_text, content_text, categories, author, source,
    content = 'items', content_rowid = 'rowid',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN
    INSERT INTO items_fts (rowid, title_text, summary_text, content_text, categories, author,
                           source)
    VALUES (new.rowid, new.title_text, new.summary_text, new.content_text, new.categories,
            new.author, new.source);
END;
CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
    INSERT INTO items_fts (items_fts, rowid, title_text, summary_text, content_text,
                           categories, author, source)
    VALUES ('delete', old.rowid, old.title_text, old.summary_text, old.content_text,
            old.categories, old.author, old.source);
END;
CREATE TRIGGER items_fts_update
AFTER UPDATE OF title_text, summary_text, content_text, categories, author, source ON items
BEGIN
    INSERT INTO items_fts (items_fts, rowid, title_text, summary_text, content_text,
                           categories, author, source)
    VALUES ('delete', old.rowid, old.title_text, old.summary_text, old.content_text,
            old.categories, old.author, old.source);
    INSERT INTO items_fts (rowid, title_text, summary_text, content_text, categories, author,
                           source)
    VALUES (new.rowid, new.title_text, new.summary_text, new.content_text, new.categories,
            new.author, new.source);
END*/;
/*postgresql: ALTER TABLE items ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', title_text), 'A')
    || setweight(to_tsvector('english', summary_text), 'B')
    || setweight(to_tsvector('english', categories), 'C')
    || setweight(to_tsvector('english', left(content_text, 200000)), 'D')
) STORED;
CREATE INDEX items_search ON items USING GIN (search_vector)*/;

-- WebSub subscriptions (aggregator.run.websub): one per source, at the hub its feed names.
-- state: pending (asked, awaiting the hub's verification of intent), active (verified;
-- pushes accepted until expires_at), denied (the hub refused), unsubscribed.
CREATE TABLE websub_subscriptions (
    sub_id TEXT PRIMARY KEY,
    source TEXT NOT NULL UNIQUE,
    topic TEXT NOT NULL,
    hub TEXT NOT NULL,
    secret TEXT NOT NULL,
    state TEXT NOT NULL,
    lease_seconds DOUBLE PRECISION,
    expires_at DOUBLE PRECISION,
    updated_at DOUBLE PRECISION NOT NULL,
    error TEXT
);

-- A curator's actions on a topic (the page, `aggregator hide/pin/unhide/unpin`): a copy
-- hidden from or pinned in a topic. A story is hidden or pinned there when one of its
-- copies is, so the action outlives merges and splits of the story.
CREATE TABLE topic_curation (
    topic TEXT NOT NULL,
    item_id TEXT NOT NULL,
    action TEXT NOT NULL,              -- 'hide' or 'pin'
    decided_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (topic, item_id)
);
CREATE INDEX topic_curation_item ON topic_curation (item_id);

-- Webhook notifications: each new story of a topic with a webhook, queued once (the key)
-- after the poll that matched it committed, with its payload and delivery state.
CREATE TABLE webhook_deliveries (
    topic TEXT NOT NULL,
    story_id TEXT NOT NULL,
    payload TEXT NOT NULL,             -- the JSON body POSTed
    status TEXT NOT NULL,              -- 'pending', 'delivered' or 'failed' (gave up)
    attempts INTEGER NOT NULL,
    next_attempt DOUBLE PRECISION NOT NULL,
    last_error TEXT,
    queued_at DOUBLE PRECISION NOT NULL,
    delivered_at DOUBLE PRECISION,
    PRIMARY KEY (topic, story_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt);

-- Per webhook topic, the match time up to which new stories have been queued.
CREATE TABLE webhook_cursor (
    topic TEXT PRIMARY KEY,
    matched_after DOUBLE PRECISION NOT NULL
);
