-- Several bot workers may share one database (PostgreSQL; SQLite keeps the columns
-- unused, so that both engines stay at the same schema).
--
-- An update is claimed by the worker that handles it (inbox.claimed_by), and only
-- once every earlier update of its chat and of its user is handled: chat_key and
-- user_key name them (NULL: the update has none). A delivery being sent names the
-- worker sending it (deliveries.claimed_by), so that a worker starting does not take
-- another's sends for ones a crash cut short.
ALTER TABLE inbox ADD COLUMN chat_key INTEGER;
ALTER TABLE inbox ADD COLUMN user_key INTEGER;
ALTER TABLE inbox ADD COLUMN claimed_by INTEGER;
ALTER TABLE deliveries ADD COLUMN claimed_by INTEGER;

CREATE INDEX inbox_unhandled_by_chat ON inbox (chat_key, update_id) WHERE handled_at IS NULL;
CREATE INDEX inbox_unhandled_by_user ON inbox (user_key, update_id) WHERE handled_at IS NULL;
