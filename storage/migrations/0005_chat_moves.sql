-- A group upgraded to a supergroup gets a new chat id, and its comments move
-- there (losing the old message ids). The move is remembered, so an export made
-- before it still finds those comments when imported again.
CREATE TABLE chat_moves (
    old_id     INTEGER PRIMARY KEY,
    new_id     INTEGER NOT NULL,
    moved_at   TEXT NOT NULL
);
