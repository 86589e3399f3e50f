-- The durable inbox and outbox.
--
-- Every update Telegram sends is written here before Telegram is told it arrived,
-- and marked handled once its handlers are done: a restart handles what was left,
-- in order, and a redelivered update that was handled is not handled again.
CREATE TABLE inbox (
    update_id    INTEGER PRIMARY KEY,   -- Telegram's update_id
    payload      TEXT NOT NULL,         -- the update's JSON as Telegram sent it
    received_at  TEXT NOT NULL,
    handled_at   TEXT                   -- NULL until every handler is done with it
);

CREATE INDEX inbox_unhandled ON inbox (update_id) WHERE handled_at IS NULL;

-- Every message the bot sends on its own (a pushed article card, the pointer to
-- /latest after a burst) or owes a reader (a comment's confirmation), once per
-- chat and key. A delivery moves queued -> sending -> sent; one whose outcome is
-- unknown (a timeout, a dropped connection, a crash mid-call) is never sent again;
-- one Telegram refused for good is failed.
CREATE TABLE deliveries (
    id          INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL,
    key         TEXT NOT NULL,          -- what it is: 'article:12', 'more:40', 'comment:7'
    kind        TEXT NOT NULL CHECK (kind IN ('push', 'reply')),
    article_id  INTEGER REFERENCES articles (id) ON DELETE CASCADE,
    payload     TEXT,                   -- JSON: the message to send, when not an article card
    state       TEXT NOT NULL DEFAULT 'queued'
                CHECK (state IN ('queued', 'sending', 'sent', 'unknown', 'failed', 'folded')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    not_before  REAL NOT NULL DEFAULT 0,  -- seconds since the epoch: not sent before then
    message_id  INTEGER,                -- Telegram's id of the message once sent
    error       TEXT,
    created_at  REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0),
    sent_at     REAL,
    UNIQUE (chat_id, key)
);

CREATE INDEX deliveries_queued ON deliveries (kind, chat_id, id) WHERE state = 'queued';

-- An article saved by any path (a feed round, `newsbot import`, while the bot runs
-- or not) is queued once for every chat subscribed at that moment.
CREATE TRIGGER articles_push AFTER INSERT ON articles
BEGIN
    INSERT OR IGNORE INTO deliveries (chat_id, key, kind, article_id)
    SELECT id, 'article:' || new.id, 'push', new.id FROM chats WHERE subscribed = 1;
END;

-- A group that became a supergroup takes what is queued for it along.
CREATE TRIGGER chat_moves_deliveries AFTER INSERT ON chat_moves
BEGIN
    UPDATE OR IGNORE deliveries SET chat_id = new.new_id
    WHERE chat_id = new.old_id AND state = 'queued';
END;
