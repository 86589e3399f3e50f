-- The news desk's channel and its discussion group.
--
-- A connected channel is a chat of type 'channel' with subscribed = 1: new articles
-- are published there as pushes are sent to subscribed chats.

-- Each article card the bot published in a channel: its automatic forward into the
-- discussion group is recognised by it, and its comment count kept up to date.
CREATE TABLE channel_posts (
    channel_id   INTEGER NOT NULL,
    message_id   INTEGER NOT NULL,
    article_id   INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    shown_count  INTEGER NOT NULL DEFAULT 0,   -- the comment count the post shows
    posted_at    TEXT NOT NULL,
    PRIMARY KEY (channel_id, message_id)
);

CREATE INDEX channel_posts_by_article ON channel_posts (article_id);

-- A published card's thread in the channel's discussion group (the automatic
-- forward's message id there): every reply in it is a comment on the article.
CREATE TABLE discussion_threads (
    chat_id     INTEGER NOT NULL,
    thread_id   INTEGER NOT NULL,
    article_id  INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    channel_id  INTEGER NOT NULL,
    PRIMARY KEY (chat_id, thread_id)
);

-- Whether a group's admins chose its scope (/scope): a discussion group's comments
-- are public until they do.
ALTER TABLE chats ADD COLUMN scope_chosen INTEGER NOT NULL DEFAULT 0;
UPDATE chats SET scope_chosen = 1 WHERE scope = 'public';

-- The forum topic /subscribe was sent in: pushes go there.
ALTER TABLE chats ADD COLUMN topic_id INTEGER;

-- A group's anonymous admin posts as the group itself: such comments were stored
-- under Telegram's shared user GroupAnonymousBot (1087968824) and are the group's.
INSERT OR IGNORE INTO users (id, display_name, banned, updated_at)
SELECT DISTINCT comments.chat_id, coalesce(chats.title, comments.author), 0, comments.created_at
FROM comments LEFT JOIN chats ON chats.id = comments.chat_id
WHERE comments.user_id = 1087968824 AND comments.chat_id IS NOT NULL;

UPDATE comments SET user_id = chat_id
WHERE user_id = 1087968824 AND chat_id IS NOT NULL;
