-- New articles and comments wait for the search index in a list, as comments from the
-- chat already did (0011), and the write that stores them indexes them all before it
-- commits: one statement for each index. FTS5 writes out what it holds in memory at the
-- start of every statement that may be undone on its own (an article's savepoint, an
-- insert that fires triggers), so indexing each row as it came wrote a small segment of
-- the index for every article of an import, and cost more than storing the article.
--
-- fts_pending_articles lists the articles not yet in articles_fts. The store indexes
-- both lists (Store.index_waiting): a save of articles before it commits, the bot every
-- second, search before it looks. Until then the triggers leave the index alone for
-- them: FTS5 must never be told to delete a row it does not hold.
CREATE TABLE fts_pending_articles (
    article_id  INTEGER PRIMARY KEY
);

DROP TRIGGER articles_fts_insert;
DROP TRIGGER articles_fts_unindex;
DROP TRIGGER articles_fts_update;
DROP TRIGGER articles_fts_delete;

CREATE TRIGGER articles_fts_insert_later AFTER INSERT ON articles BEGIN
    INSERT OR IGNORE INTO fts_pending_articles (article_id) VALUES (new.id);
END;

-- An article's old text is read before it changes or goes.
CREATE TRIGGER articles_fts_unindex BEFORE UPDATE OF title, body ON articles
    WHEN NOT EXISTS (SELECT 1 FROM fts_pending_articles WHERE article_id = old.id)
BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, body)
    SELECT 'delete', id, title, body FROM articles_text WHERE id = old.id;
END;

CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, body ON articles
    WHEN NOT EXISTS (SELECT 1 FROM fts_pending_articles WHERE article_id = new.id)
BEGIN
    INSERT INTO articles_fts (rowid, title, body)
    SELECT id, title, body FROM articles_text WHERE id = new.id;
END;

CREATE TRIGGER articles_fts_delete BEFORE DELETE ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, body)
    SELECT 'delete', id, title, body FROM articles_text WHERE id = old.id
    AND NOT EXISTS (SELECT 1 FROM fts_pending_articles WHERE article_id = old.id);
    DELETE FROM fts_pending_articles WHERE article_id = old.id;
END;

-- Every new comment waits (0011 let only the chat's wait).
DROP TRIGGER comments_fts_insert;
DROP TRIGGER comments_fts_insert_later;

CREATE TRIGGER comments_fts_insert_later AFTER INSERT ON comments BEGIN
    INSERT OR IGNORE INTO fts_pending (comment_id) VALUES (new.id);
END;
