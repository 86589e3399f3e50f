"""How long what the store keeps may be: one place for the limits every import obeys.

The readers (text files, feeds, JSON Lines) apply them as they read, where
they can say more (a text file's overlong title is an error on its line);
``within_limits`` applies them again to every article the store saves, so
no source, present or future, brings in a tag or a comment the bot cannot
show. What it cuts or leaves out, it says in the article's warnings.
"""

from __future__ import annotations

import dataclasses

from storage.models import ParsedArticle, ParsedComment
from storage.text import shorten

MAX_TITLE = 300
MAX_TAG = 40  # a topic: "#sea_of_japan" on cards, buttons and /timeline
MAX_TAGS = 10
MAX_AUTHOR = 64
# The longest comment: the most COMMENT_MAX_LENGTH lets a chat comment be, so that
# an export of any deployment imports whole, and what a page shows one comment fits
# in one Telegram message.
MAX_COMMENT = 3_500


def within_limits(article: ParsedArticle) -> ParsedArticle:
    """The article with overlong tags left out and an overlong title, name or comment cut."""
    warnings: list[str] = []
    title = article.title
    if len(title) > MAX_TITLE:
        title = shorten(title, MAX_TITLE)
        warnings.append(f"the title is longer than {MAX_TITLE} characters; cut")
    tags: list[str] = []
    for tag in article.tags:
        if len(tag.strip()) > MAX_TAG:
            warnings.append(
                f"tag {shorten(tag, 30)!r} is longer than {MAX_TAG} characters; left out"
            )
        elif len(tags) < MAX_TAGS:
            tags.append(tag)
    comments = [_within_limits(c, n, warnings) for n, c in enumerate(article.comments, 1)]
    if not warnings and len(tags) == len(article.tags):
        return article
    return dataclasses.replace(
        article,
        title=title,
        tags=tuple(tags),
        comments=tuple(comments),
        warnings=(*article.warnings, *warnings),
    )


def _within_limits(comment: ParsedComment, number: int, warnings: list[str]) -> ParsedComment:
    author, body = comment.author, comment.body
    if len(author) > MAX_AUTHOR:
        author = shorten(author, MAX_AUTHOR)
        warnings.append(f"comment {number}: the author's name is cut to {MAX_AUTHOR} characters")
    if len(body) > MAX_COMMENT:
        warnings.append(
            f"comment {number}: {len(body):,} characters, cut to the {MAX_COMMENT:,} "
            "a comment may have"
        )
        body = shorten(body, MAX_COMMENT)
    if (author, body) == (comment.author, comment.body):
        return comment
    return dataclasses.replace(comment, author=author, body=body)
