-- The search index keeps no copy of the texts it indexes. Until now each FTS5 table
-- stored a second copy of every article's text and every visible comment (a quarter
-- of the database); now they read the text from the tables that hold it (external
-- content), through two views that give exactly what is indexed: an article's title
-- and its blocks' text joined by newlines, and the text of visible comments.
-- The triggers keep the index in step: FTS5 removes an entry by the values it was
-- made from, so a change deletes the old values before it indexes the new, and every
-- statement reads an article's text through articles_text, so it is joined one way.
-- (FTS5 reads its content without table-valued functions, so not with json_each.)

DROP TRIGGER articles_fts_insert;
DROP TRIGGER articles_fts_update;
DROP TRIGGER articles_fts_delete;
DROP TRIGGER comments_fts_insert;
DROP TRIGGER comments_fts_update;
DROP TRIGGER comments_fts_delete;
DROP TABLE articles_fts;
DROP TABLE comments_fts;

CREATE VIEW articles_text (id, title, body) AS
SELECT id, title, (
    WITH RECURSIVE block (i, text) AS (
        SELECT 0, NULL
        UNION ALL
        SELECT i + 1, json_extract(articles.body, '$[' || i || '].text') FROM block
        WHERE i < json_array_length(articles.body))
    SELECT group_concat(text, char(10)) FROM block)
FROM articles;

CREATE VIEW visible_comments_text (id, body) AS
SELECT id, body FROM comments WHERE status = 'visible';

CREATE VIRTUAL TABLE articles_fts USING fts5 (
    title, body, content = 'articles_text', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE comments_fts USING fts5 (
    body, content = 'visible_comments_text', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);

INSERT INTO articles_fts (articles_fts) VALUES ('rebuild');
INSERT INTO comments_fts (comments_fts) VALUES ('rebuild');

CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts (rowid, title, body)
    SELECT id, title, body FROM articles_text WHERE id = new.id;
END;

-- An article's old text is read before it changes or goes.
CREATE TRIGGER articles_fts_unindex BEFORE UPDATE OF title, body ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, body)
    SELECT 'delete', id, title, body FROM articles_text WHERE id = old.id;
END;

CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, body ON articles BEGIN
    INSERT INTO articles_fts (rowid, title, body)
    SELECT id, title, body FROM articles_text WHERE id = new.id;
END;

CREATE TRIGGER articles_fts_delete BEFORE DELETE ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, body)
    SELECT 'delete', id, title, body FROM articles_text WHERE id = old.id;
END;

CREATE TRIGGER comments_fts_insert AFTER INSERT ON comments WHEN new.status = 'visible' BEGIN
    INSERT INTO comments_fts (rowid, body) VALUES (new.id, new.body);
END;

CREATE TRIGGER comments_fts_update AFTER UPDATE OF body, status ON comments BEGIN
    INSERT INTO comments_fts (comments_fts, rowid, body)
    SELECT 'delete', old.id, old.body WHERE old.status = 'visible';
    INSERT INTO comments_fts (rowid, body) SELECT new.id, new.body WHERE new.status = 'visible';
END;

CREATE TRIGGER comments_fts_delete AFTER DELETE ON comments WHEN old.status = 'visible' BEGIN
    INSERT INTO comments_fts (comments_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;
