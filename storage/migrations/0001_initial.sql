-- The corpus: articles with their structure, tags, timelines and comment sections,
-- plus the chats and users the bot has met and what moderators did.

CREATE TABLE articles (
    id             INTEGER PRIMARY KEY,
    slug           TEXT NOT NULL UNIQUE,
    title          TEXT NOT NULL,
    body           TEXT NOT NULL,            -- JSON list of {"kind", "text"} blocks
    source         TEXT NOT NULL DEFAULT '',
    source_key     TEXT NOT NULL UNIQUE,     -- names the article across imports
    content_key    TEXT NOT NULL,            -- hash of the content: unchanged means skip
    url            TEXT,
    published_at   TEXT,
    imported_at    TEXT NOT NULL,
    summary        TEXT NOT NULL DEFAULT '',
    comment_count  INTEGER NOT NULL DEFAULT 0, -- visible public comments, kept by triggers
    next_seq       INTEGER NOT NULL DEFAULT 0  -- last top-level comment position handed out
);

CREATE INDEX articles_by_recency ON articles (coalesce(published_at, imported_at) DESC, id DESC);

CREATE TABLE tags (
    id    INTEGER PRIMARY KEY,
    name  TEXT NOT NULL UNIQUE
);

CREATE TABLE article_tags (
    article_id  INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    tag_id      INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    PRIMARY KEY (article_id, tag_id)
) WITHOUT ROWID;

CREATE INDEX article_tags_by_tag ON article_tags (tag_id, article_id);

CREATE TABLE timeline_events (
    id          INTEGER PRIMARY KEY,
    article_id  INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    date        TEXT NOT NULL,     -- YYYY, YYYY-MM or YYYY-MM-DD
    precision   TEXT NOT NULL CHECK (precision IN ('year', 'month', 'day')),
    qualifier   TEXT,
    label       TEXT NOT NULL,
    sentence    TEXT NOT NULL,
    sort_key    TEXT NOT NULL
);

CREATE INDEX timeline_events_by_article ON timeline_events (article_id, sort_key);

CREATE TABLE chats (
    id          INTEGER PRIMARY KEY,  -- Telegram chat id
    type        TEXT NOT NULL,
    title       TEXT,
    subscribed  INTEGER NOT NULL DEFAULT 0,
    scope       TEXT NOT NULL DEFAULT 'group' CHECK (scope IN ('group', 'public')),
    updated_at  TEXT NOT NULL
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,  -- Telegram user id
    display_name  TEXT NOT NULL,
    banned        INTEGER NOT NULL DEFAULT 0,
    updated_at    TEXT NOT NULL
);

CREATE TABLE comments (
    id          INTEGER PRIMARY KEY,
    article_id  INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    parent_id   INTEGER REFERENCES comments (id) ON DELETE CASCADE,
    root_id     INTEGER,               -- the top-level comment of the thread (itself when top-level)
    seq         INTEGER,               -- position among the article's top-level comments
    author      TEXT NOT NULL,
    user_id     INTEGER,
    origin      TEXT NOT NULL CHECK (origin IN ('imported', 'chat')),
    chat_id     INTEGER,               -- the chat it was posted in
    message_id  INTEGER,               -- the Telegram message it came from
    visibility  TEXT NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'group')),
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    edited_at   TEXT,
    status      TEXT NOT NULL DEFAULT 'visible' CHECK (status IN ('visible', 'hidden', 'deleted')),
    import_key  TEXT,                  -- imported comments: recognises them on re-import
    UNIQUE (chat_id, message_id)
);

-- A page of top-level comments by key: WHERE article_id = ? AND seq > ? ORDER BY seq.
CREATE UNIQUE INDEX comments_top_level ON comments (article_id, seq) WHERE parent_id IS NULL;
-- Top-level comments that some chat may not see as a plain comment: the (usually few)
-- exceptions a page walk has to step over.
CREATE INDEX comments_top_level_exceptions ON comments (article_id, seq)
    WHERE parent_id IS NULL AND (visibility <> 'public' OR status <> 'visible');
CREATE INDEX comments_by_root ON comments (root_id, id);
CREATE INDEX comments_by_parent ON comments (parent_id);
CREATE INDEX comments_by_user ON comments (user_id, created_at) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX comments_by_import_key ON comments (article_id, import_key)
    WHERE import_key IS NOT NULL;
CREATE INDEX comments_group_only ON comments (article_id, chat_id)
    WHERE visibility = 'group' AND status = 'visible';

CREATE TRIGGER comments_count_insert AFTER INSERT ON comments
    WHEN new.visibility = 'public' AND new.status = 'visible'
BEGIN
    UPDATE articles SET comment_count = comment_count + 1 WHERE id = new.article_id;
END;

CREATE TRIGGER comments_count_delete AFTER DELETE ON comments
    WHEN old.visibility = 'public' AND old.status = 'visible'
BEGIN
    UPDATE articles SET comment_count = comment_count - 1 WHERE id = old.article_id;
END;

CREATE TRIGGER comments_count_update AFTER UPDATE OF visibility, status ON comments
BEGIN
    UPDATE articles
    SET comment_count = comment_count
        - (old.visibility = 'public' AND old.status = 'visible')
        + (new.visibility = 'public' AND new.status = 'visible')
    WHERE id = new.article_id;
END;

CREATE TABLE moderation_actions (
    id          INTEGER PRIMARY KEY,
    actor_id    INTEGER NOT NULL,
    action      TEXT NOT NULL,   -- hide, unhide, ban, unban
    comment_id  INTEGER,
    user_id     INTEGER,
    chat_id     INTEGER,
    created_at  TEXT NOT NULL
);

-- Full-text search. Article text and visible comments live in two FTS5 tables whose
-- rowids are the article and comment ids, kept in step by the triggers below.
CREATE VIRTUAL TABLE articles_fts USING fts5 (title, body, tokenize = 'unicode61 remove_diacritics 2');
CREATE VIRTUAL TABLE comments_fts USING fts5 (body, tokenize = 'unicode61 remove_diacritics 2');

CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts (rowid, title, body)
    VALUES (new.id, new.title,
            (SELECT group_concat(json_extract(value, '$.text'), char(10)) FROM json_each(new.body)));
END;

CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, body ON articles BEGIN
    DELETE FROM articles_fts WHERE rowid = old.id;
    INSERT INTO articles_fts (rowid, title, body)
    VALUES (new.id, new.title,
            (SELECT group_concat(json_extract(value, '$.text'), char(10)) FROM json_each(new.body)));
END;

CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
    DELETE FROM articles_fts WHERE rowid = old.id;
END;

CREATE TRIGGER comments_fts_insert AFTER INSERT ON comments WHEN new.status = 'visible' BEGIN
    INSERT INTO comments_fts (rowid, body) VALUES (new.id, new.body);
END;

CREATE TRIGGER comments_fts_update AFTER UPDATE OF body, status ON comments BEGIN
    DELETE FROM comments_fts WHERE rowid = old.id;
    INSERT INTO comments_fts (rowid, body) SELECT new.id, new.body WHERE new.status = 'visible';
END;

CREATE TRIGGER comments_fts_delete AFTER DELETE ON comments BEGIN
    DELETE FROM comments_fts WHERE rowid = old.id;
END;
