"""Promote and rollback switch running workers to the new model without failing in-flight requests."""
import threading
import time


def test_promote_switches_model_under_concurrent_requests(app_factory, two_versions):
    registry, first, second = two_versions

    app = app_factory(MODELS_DIR=str(registry.root), MODEL_POLL_SECONDS=0.05)
    from moderation.service import keys
    secret, _ = keys.create(app.extensions["moderation.store"], "k", ["score"])
    seen, failures, stop = set(), [], threading.Event()

    def hammer():
        client = app.test_client()
        while not stop.is_set():
            response = client.post("/v1/moderate", json={"comment": {"id": 1, "text": "you idiot"}},
                                   headers={"X-API-Key": secret})
            if response.status_code != 200:
                failures.append(response.status_code)
            else:
                seen.add(response.get_json()["model_version"])

    workers = [threading.Thread(target=hammer) for _ in range(4)]
    for worker in workers:
        worker.start()
    try:
        time.sleep(0.3)
        registry.promote(second)
        deadline = time.monotonic() + 10
        while app.extensions["moderation.model"].scorer.version != second and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        registry.rollback()
        deadline = time.monotonic() + 10
        while app.extensions["moderation.model"].scorer.version != first and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    assert failures == []
    assert seen == {first, second}
    assert app.extensions["moderation.model"].scorer.version == first


def test_tampered_version_is_not_served(app_factory, two_versions):
    registry, first, second = two_versions
    registry.promote(second)
    with open(registry.path(second) / "model.joblib", "ab") as handle:
        handle.write(b"tampered")
    app = app_factory(MODELS_DIR=str(registry.root))
    holder = app.extensions["moderation.model"]
    assert holder.scorer is None and "does not match" in holder.error
    (registry.root / "CURRENT").write_text(first + "\n")
    assert holder.load() and holder.scorer.version == first
    (registry.root / "CURRENT").write_text(second + "\n")
    assert not holder.load() and holder.scorer.version == first and "does not match" in holder.error
