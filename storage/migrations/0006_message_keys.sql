-- A comment from the chat is known on re-import by the Telegram message it came
-- from, kept as its import key, which stays when a move to a supergroup drops
-- the message id itself and which the export carries.
UPDATE comments SET import_key = 'msg:' || chat_id || ':' || message_id
WHERE origin = 'chat' AND message_id IS NOT NULL AND chat_id IS NOT NULL
  AND import_key IS NULL;
