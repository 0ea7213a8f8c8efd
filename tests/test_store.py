"""The store: migrations that several starting workers can run at once, and UTC timestamps everywhere."""
import multiprocessing
from datetime import timezone

import pytest

from moderation.store import Store


def _upgrade(url):
    Store(url).upgrade()


@pytest.mark.subprocess
def test_processes_migrating_at_once_all_succeed(database_url):
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_upgrade, args=(database_url,)) for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [p.exitcode for p in processes] == [0] * 4


def test_timestamps_come_back_aware_in_utc(app, auth, client):
    article = client.put("/v1/articles/t", json={"title": "T"}, headers=auth).get_json()
    assert article["updated_at"].endswith("+00:00")
    from moderation.service.threads import article_record
    assert article_record(app.extensions["moderation.store"], "t").updated_at.tzinfo == timezone.utc
