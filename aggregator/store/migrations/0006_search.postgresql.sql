-- Full-text search over stored items (`aggregator search`, the page's search box): a
-- generated tsvector (so no write path can forget it; adding it computes it for every
-- item already stored) with a GIN index. The weights are the query language's fields:
-- title A, summary B, category C, content D (a field prefix filters on them, ts_rank
-- ranks by them); author and source are searched from their own columns. Content is cut
-- at 200,000 characters: a tsvector holds at most 1 MB, and an insert that overflowed it
-- would fail the whole poll.
ALTER TABLE items ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', title_text), 'A')
    || setweight(to_tsvector('english', summary_text), 'B')
    || setweight(to_tsvector('english', categories), 'C')
    || setweight(to_tsvector('english', left(content_text, 200000)), 'D')
) STORED;
CREATE INDEX items_search ON items USING GIN (search_vector);
