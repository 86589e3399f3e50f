-- A comment posted through the chat is indexed for search in a batch, a moment later,
-- not in its own transaction: one small write to the search index costs more than
-- storing the comment itself. Comments that came with no Telegram message (imports of
-- files and feeds) are indexed at once, as before.
--
-- fts_pending lists the comments not yet in comments_fts. Store.index_comments()
-- indexes them (the bot every second, search before it looks, an import at its end);
-- until then the triggers below leave the index alone for them: FTS5 must never be
-- told to delete a row it does not hold.
CREATE TABLE fts_pending (
    comment_id  INTEGER PRIMARY KEY
);

DROP TRIGGER comments_fts_insert;
DROP TRIGGER comments_fts_update;
DROP TRIGGER comments_fts_delete;

CREATE TRIGGER comments_fts_insert AFTER INSERT ON comments
    WHEN new.status = 'visible' AND new.message_id IS NULL
BEGIN
    INSERT INTO comments_fts (rowid, body) VALUES (new.id, new.body);
END;

CREATE TRIGGER comments_fts_insert_later AFTER INSERT ON comments
    WHEN new.message_id IS NOT NULL
BEGIN
    INSERT OR IGNORE INTO fts_pending (comment_id) VALUES (new.id);
END;

CREATE TRIGGER comments_fts_update AFTER UPDATE OF body, status ON comments
    WHEN NOT EXISTS (SELECT 1 FROM fts_pending WHERE comment_id = new.id)
BEGIN
    INSERT INTO comments_fts (comments_fts, rowid, body)
    SELECT 'delete', old.id, old.body WHERE old.status = 'visible';
    INSERT INTO comments_fts (rowid, body) SELECT new.id, new.body WHERE new.status = 'visible';
END;

CREATE TRIGGER comments_fts_delete AFTER DELETE ON comments BEGIN
    INSERT INTO comments_fts (comments_fts, rowid, body)
    SELECT 'delete', old.id, old.body WHERE old.status = 'visible'
    AND NOT EXISTS (SELECT 1 FROM fts_pending WHERE comment_id = old.id);
    DELETE FROM fts_pending WHERE comment_id = old.id;
END;
