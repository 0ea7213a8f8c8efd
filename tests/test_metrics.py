"""``GET /metrics``: request counts and latency by route, decisions, flags, scored comments, model version, reloads."""
from __future__ import annotations

import re

from prometheus_client.parser import text_string_to_metric_families


def scrape(client) -> dict[tuple[str, tuple], float]:
    """Every sample of ``/metrics`` as {(name, sorted labels): value}."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for sample in family.samples}


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_need_no_key(client):
    assert client.get("/metrics").status_code == 200


def test_moderation_counts_decisions_flags_and_scored_comments(client, auth, app):
    comments = [{"id": 1, "text": "You are a pathetic idiot, shut up."},
                {"id": 2, "text": "Lending laptops is a smart use of the library budget."},
                {"id": 3, "text": "Evening hours will help students who work after school."}]
    response = client.post("/v1/moderate", json={"comments": comments}, headers=auth)
    assert response.status_code == 200
    results = response.get_json()["results"]
    samples = scrape(client)

    for decision in ("approve", "review", "reject"):
        assert value(samples, "moderation_decisions_total", decision=decision) == \
            sum(r["decision"] == decision for r in results)
    for label in app.extensions["moderation.model"].scorer.labels:
        assert value(samples, "moderation_flags_total", label=label) == sum(label in r["flags"] for r in results)
    assert value(samples, "moderation_comments_scored_total") == 3
    assert value(samples, "moderation_http_requests_total", endpoint="/v1/moderate", method="POST",
                 status="200") == 1


def test_refused_requests_count_no_decisions(client, auth):
    assert client.post("/v1/moderate", json={"comments": []}, headers=auth).status_code == 422
    samples = scrape(client)
    assert value(samples, "moderation_http_requests_total", endpoint="/v1/moderate", method="POST",
                 status="422") == 1
    assert value(samples, "moderation_comments_scored_total") == 0
    assert sum(v for (name, _), v in samples.items() if name == "moderation_decisions_total") == 0


def test_latency_histogram_by_route_with_millisecond_buckets(client):
    client.get("/healthz")
    samples = scrape(client)
    buckets = sorted(float(dict(labels)["le"]) for (name, labels), _ in samples.items()
                     if name == "moderation_http_request_duration_seconds_bucket"
                     and dict(labels)["endpoint"] == "/healthz")
    assert {0.001, 0.005, 0.01, 0.05} <= set(buckets)
    assert value(samples, "moderation_http_request_duration_seconds_count", endpoint="/healthz") == 1


def test_unknown_paths_and_methods_do_not_make_new_series(client):
    client.get("/no/such/page/12345")
    client.open("/healthz", method="BREW")
    samples = scrape(client)
    endpoints = {dict(labels)["endpoint"] for (name, labels), _ in samples.items()
                 if name == "moderation_http_requests_total"}
    assert "/no/such/page/12345" not in endpoints
    assert value(samples, "moderation_http_requests_total", endpoint="<unmatched>", method="GET", status="404") == 1
    assert value(samples, "moderation_http_requests_total", endpoint="<unmatched>", method="other",
                 status="405") == 1


def test_model_version_and_reloads(app_factory, two_versions):
    registry, first, second = two_versions
    app = app_factory(MODELS_DIR=str(registry.root))
    client = app.test_client()

    samples = scrape(client)
    assert value(samples, "moderation_model_info", version=first) == 1
    assert value(samples, "moderation_model_reloads_total") == 0

    registry.promote(second)
    assert app.extensions["moderation.model"].load()
    samples = scrape(client)
    assert value(samples, "moderation_model_info", version=second) == 1
    assert value(samples, "moderation_model_info", version=first) == 0
    assert value(samples, "moderation_model_reloads_total") == 1


def test_metric_names_follow_prometheus_conventions(client):
    client.get("/healthz")
    names = {name for name, _ in scrape(client)}
    assert all(re.fullmatch(r"[a-z_:][a-z0-9_:]*", name) for name in names)
    assert {"moderation_http_requests_total", "moderation_decisions_total", "moderation_flags_total",
            "moderation_comments_scored_total", "moderation_model_info", "moderation_model_reloads_total"} <= names


def test_a_worker_file_still_being_created_is_left_out_of_the_sum(tmp_path):
    """A second worker that is still booting has created its value file but not yet sized it: a scrape answered by
    the first worker meanwhile reports the first worker's values instead of failing."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.mmap_dict import MmapedDict, mmap_key

    from moderation.web.api.metrics import WorkerFilesCollector

    ready = MmapedDict(str(tmp_path / "counter_101.db"))
    ready.write_value(mmap_key("moderation_comments_scored_total", "moderation_comments_scored_total", [], [],
                               "Comments scored by the model."), 12.0, 0.0)
    ready.close()
    (tmp_path / "counter_102.db").touch()
    registry = CollectorRegistry()
    WorkerFilesCollector(registry, path=str(tmp_path))

    assert "moderation_comments_scored_total 12.0" in generate_latest(registry).decode().splitlines()
