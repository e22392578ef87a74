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
