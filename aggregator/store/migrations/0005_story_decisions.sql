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
