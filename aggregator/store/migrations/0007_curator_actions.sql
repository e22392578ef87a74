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
