"""ThreadContext: the one way the CLI and the service put a comment in its context."""
from __future__ import annotations

from moderation.model.comment import Comment, ThreadContext


def test_a_comment_sees_the_earlier_comments_on_its_article_only():
    context = ThreadContext()
    context.comment("first on a", "1", "a")
    context.comment("first on b", "2", "b")
    assert context.comment("second on a", "3", "a", article="Article A") == \
        Comment("second on a", "Article A", ("first on a",), None)
    assert context.comment("no article", "4").thread == ()


def test_a_comment_sent_again_is_not_its_own_context():
    context = ThreadContext(threads={"a": [("1", "stored earlier"), ("2", "retried")]})
    assert context.comment("retried", "2", "a").thread == ("stored earlier",)


def test_comments_without_ids_are_all_context():
    context = ThreadContext()
    context.comment("one", None, "a")
    assert context.comment("two", None, "a").thread == ("one",)


def test_parents_come_from_the_given_texts_and_from_earlier_comments():
    context = ThreadContext(texts={"p": "a stored parent"})
    assert context.comment("reply", "1", parent_id="p").parent == "a stored parent"
    assert context.comment("reply to a reply", "2", parent_id="1").parent == "reply"
    assert context.comment("orphan", "3", parent_id="missing").parent is None


def test_the_thread_keeps_the_last_comments_only():
    context = ThreadContext(keep=2)
    for i in range(5):
        context.comment(f"comment {i}", str(i), "a")
    assert context.comment("next", "5", "a").thread == ("comment 3", "comment 4")


def test_a_bounded_context_forgets_the_oldest_parents_and_keeps_whole_threads():
    bounded, unbounded = ThreadContext(keep=3, max_texts=4), ThreadContext(keep=3)
    for i in range(40):
        args = (f"comment {i}", str(i), "ab"[i % 2], str(i - 2) if i % 3 == 0 else None)
        assert bounded.comment(*args).thread == unbounded.comment(*args).thread
    assert len(bounded.texts) == 4 and max(map(len, bounded.threads.values())) <= 8
    assert bounded.comment("reply", "40", parent_id="36").parent == "comment 36"
    assert bounded.comment("reply", "41", parent_id="35").parent is None
