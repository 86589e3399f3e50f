-- Where each comment is seen, worked out once by the rule in storage/visibility.py
-- and kept: NULL for every chat, a chat id for that group alone, 0 for no chat.
-- A reply is seen only where its whole thread above it is seen, so a public reply
-- under a group-only comment stays in that group; a group-only comment that names
-- no chat is seen nowhere.
ALTER TABLE comments ADD COLUMN seen_in INTEGER;

CREATE TEMP TABLE comment_audience AS
WITH RECURSIVE chain (id, seen) AS (
    SELECT id, CASE WHEN visibility = 'public' THEN NULL ELSE coalesce(chat_id, 0) END
    FROM comments WHERE parent_id IS NULL
    UNION ALL
    SELECT c.id, CASE
        WHEN p.seen IS NULL THEN own.seen
        WHEN own.seen IS NULL OR own.seen = p.seen THEN p.seen
        ELSE 0 END
    FROM comments c
    JOIN chain p ON p.id = c.parent_id
    JOIN (SELECT id, CASE WHEN visibility = 'public' THEN NULL ELSE coalesce(chat_id, 0) END
          AS seen FROM comments) own ON own.id = c.id
)
SELECT id, seen FROM chain WHERE seen IS NOT NULL;

UPDATE comments SET seen_in = (SELECT seen FROM comment_audience a WHERE a.id = comments.id)
WHERE id IN (SELECT id FROM comment_audience);

DROP TABLE comment_audience;

-- The stored count keeps what every chat counts (visibility.counted_everywhere).
DROP TRIGGER comments_count_insert;
DROP TRIGGER comments_count_delete;
DROP TRIGGER comments_count_update;

CREATE TRIGGER comments_count_insert AFTER INSERT ON comments
    WHEN new.seen_in IS NULL AND new.status = 'visible'
BEGIN
    UPDATE articles SET comment_count = comment_count + 1 WHERE id = new.article_id;
END;

CREATE TRIGGER comments_count_delete AFTER DELETE ON comments
    WHEN old.seen_in IS NULL AND old.status = 'visible'
BEGIN
    UPDATE articles SET comment_count = comment_count - 1 WHERE id = old.article_id;
END;

CREATE TRIGGER comments_count_update AFTER UPDATE OF seen_in, status ON comments
BEGIN
    UPDATE articles
    SET comment_count = comment_count
        - (old.seen_in IS NULL AND old.status = 'visible')
        + (new.seen_in IS NULL AND new.status = 'visible')
    WHERE id = new.article_id;
END;

UPDATE articles SET comment_count = (
    SELECT count(*) FROM comments c
    WHERE c.article_id = articles.id AND c.seen_in IS NULL AND c.status = 'visible');

-- What one chat adds to the stored count, and the comments that follow a group to
-- its supergroup.
DROP INDEX comments_group_only;
CREATE INDEX comments_seen_in_one_chat ON comments (seen_in, article_id)
    WHERE seen_in IS NOT NULL;

-- Top-level comments that some chat may not see as a plain comment: the (usually few)
-- exceptions a page walk has to step over (NOT visibility.counted_everywhere).
DROP INDEX comments_top_level_exceptions;
CREATE INDEX comments_top_level_exceptions ON comments (article_id, seq)
    WHERE parent_id IS NULL AND NOT (seen_in IS NULL AND status = 'visible');

-- A comment its author deleted keeps no text (nor a place in the search index).
UPDATE comments SET body = '' WHERE status = 'deleted' AND body <> '';
DELETE FROM comments_fts WHERE rowid IN (SELECT id FROM comments WHERE status = 'deleted');

-- Bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069)
-- leave names and comments, as storage/text.py keeps them out from now on.
UPDATE comments SET author =
    replace(replace(replace(replace(replace(replace(replace(replace(replace(author,
        char(8234), ''), char(8235), ''), char(8236), ''), char(8237), ''), char(8238), ''),
        char(8294), ''), char(8295), ''), char(8296), ''), char(8297), '')
WHERE author GLOB '*[' || char(8234, 8235, 8236, 8237, 8238, 8294, 8295, 8296, 8297) || ']*';
UPDATE comments SET body =
    replace(replace(replace(replace(replace(replace(replace(replace(replace(body,
        char(8234), ''), char(8235), ''), char(8236), ''), char(8237), ''), char(8238), ''),
        char(8294), ''), char(8295), ''), char(8296), ''), char(8297), '')
WHERE body GLOB '*[' || char(8234, 8235, 8236, 8237, 8238, 8294, 8295, 8296, 8297) || ']*';
UPDATE users SET display_name =
    replace(replace(replace(replace(replace(replace(replace(replace(replace(display_name,
        char(8234), ''), char(8235), ''), char(8236), ''), char(8237), ''), char(8238), ''),
        char(8294), ''), char(8295), ''), char(8296), ''), char(8297), '')
WHERE display_name GLOB '*[' || char(8234, 8235, 8236, 8237, 8238, 8294, 8295, 8296, 8297) || ']*';

-- The limits every import obeys from now on (storage/limits.py): no topic longer than
-- 40 characters, no comment longer than 3,500.
DELETE FROM article_tags WHERE tag_id IN (SELECT id FROM tags WHERE length(name) > 40);
DELETE FROM tags WHERE length(name) > 40;
UPDATE comments SET body = substr(body, 1, 3499) || char(8230) WHERE length(body) > 3500;
