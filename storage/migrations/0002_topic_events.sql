-- A topic's timeline merges the events of every article with that tag. Sorting
-- them at read time costs as much as the topic is big; this table keeps each
-- (tag, event) pair in chronological order, so a topic's page is a range scan.
-- Triggers keep it in step with article_tags and timeline_events, whichever
-- of the two is written first.

CREATE TABLE topic_events (
    tag_id      INTEGER NOT NULL,
    sort_key    TEXT NOT NULL,
    event_id    INTEGER NOT NULL,
    article_id  INTEGER NOT NULL,
    PRIMARY KEY (tag_id, sort_key, event_id)
) WITHOUT ROWID;

CREATE INDEX topic_events_by_article ON topic_events (article_id, tag_id);

CREATE TRIGGER topic_events_on_event AFTER INSERT ON timeline_events BEGIN
    INSERT OR IGNORE INTO topic_events (tag_id, sort_key, event_id, article_id)
    SELECT x.tag_id, NEW.sort_key, NEW.id, NEW.article_id
    FROM article_tags x WHERE x.article_id = NEW.article_id;
END;

CREATE TRIGGER topic_events_on_tag AFTER INSERT ON article_tags BEGIN
    INSERT OR IGNORE INTO topic_events (tag_id, sort_key, event_id, article_id)
    SELECT NEW.tag_id, e.sort_key, e.id, e.article_id
    FROM timeline_events e WHERE e.article_id = NEW.article_id;
END;

CREATE TRIGGER topic_events_off_event AFTER DELETE ON timeline_events BEGIN
    DELETE FROM topic_events WHERE article_id = OLD.article_id AND event_id = OLD.id;
END;

CREATE TRIGGER topic_events_off_tag AFTER DELETE ON article_tags BEGIN
    DELETE FROM topic_events WHERE article_id = OLD.article_id AND tag_id = OLD.tag_id;
END;

INSERT INTO topic_events (tag_id, sort_key, event_id, article_id)
SELECT x.tag_id, e.sort_key, e.id, e.article_id
FROM article_tags x JOIN timeline_events e ON e.article_id = x.article_id;
