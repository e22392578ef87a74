-- Full-text search over stored items (`aggregator search`, the page's search box): an
-- FTS5 index whose text stays in `items` (external content, so the text is not stored
-- twice), one column per field of the query language, kept in step by triggers on every
-- write path (ingest, edits, retention), Porter-stemmed like PostgreSQL's 'english'.
-- The rebuild indexes every item stored before this migration.
-- Note: the index finds items by rowid; after a manual VACUUM (which may renumber
-- rowids) run: INSERT INTO items_fts (items_fts) VALUES ('rebuild').
CREATE VIRTUAL TABLE items_fts USING fts5 (
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
END;
INSERT INTO items_fts (items_fts) VALUES ('rebuild');
