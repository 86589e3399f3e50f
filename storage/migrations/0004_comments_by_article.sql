-- Every comment of an article in order, without scanning all comments: for the
-- export, and for ON DELETE CASCADE from articles (a foreign key's child column
-- wants an index of its own).
CREATE INDEX comments_by_article ON comments (article_id, id);
