-- A group's admins ban a user from commenting in their group only; the bot's
-- own moderators (ADMIN_IDS) ban everywhere, with users.banned.
CREATE TABLE chat_bans (
    chat_id    INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    banned_at  TEXT NOT NULL,
    PRIMARY KEY (chat_id, user_id)
) WITHOUT ROWID;
