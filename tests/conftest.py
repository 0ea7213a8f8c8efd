"""Shared fixtures: tiny real models trained through the real pipeline and loaded through the real loader."""
from __future__ import annotations

import gc
import json
import os
import threading
from pathlib import Path

import pytest

from moderation.runtime.artifact import Registry
from training.thresholds import MIN_DECIDING_POSITIVES
from training.train import default_articles, default_data, load_data, train

REPO = Path(__file__).resolve().parents[1]
# The sentence encoder's graph (built once from the installed weights) and the training embeddings, kept between
# runs and shared with the servers the tests start, whose MODERATION_HOME is a fresh folder each time.
os.environ.setdefault("MODERATION_CACHE", str(REPO / "instance" / "test-cache"))

# Fixtures that need something beyond this process, and the mark (pyproject.toml) each gives its tests.
FIXTURE_MARKS = {"postgres_url": "postgres", "default_registry": "slow"}


def pytest_collection_modifyitems(items):
    """Mark tests by the fixtures they use; ``database_url`` needs PostgreSQL for its "postgresql" runs."""
    for item in items:
        for fixture, mark in FIXTURE_MARKS.items():
            if fixture in item.fixturenames:
                item.add_marker(mark)
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("database_url") == "postgresql":
            item.add_marker("postgres")

# A dozen-and-a-bit comments under two articles, written for these tests.
TINY_ARTICLES = [
    {"id": "bridge", "title": "Old bridge reopens after repairs",
     "body": "The river bridge on Mill Road reopens Monday after eight months of repairs to its steel deck."},
    {"id": "library", "title": "Library adds evening hours",
     "body": "The central library will stay open until nine on weekdays and lend laptops to students."},
]
TINY_COMMENTS = [
    ("bridge", "Great news, the detour added twenty minutes to my drive.", 0, 0, 0),
    ("bridge", "Eight months for a bridge deck seems slow but glad it is done.", 0, 0, 0),
    ("bridge", "Will the bridge have a proper cycle lane now?", 0, 0, 0),
    ("bridge", "The engineers who fixed the steel deck did careful work.", 0, 0, 0),
    ("bridge", "You are an idiot if you think that bridge is safe.", 1, 1, 0),
    ("bridge", "Only a moron would drive over that rusty deck, moron.", 1, 1, 0),
    ("bridge", "Buy cheap sunglasses at my online shop, discount code inside!", 0, 0, 1),
    ("bridge", "Does anyone know a good dentist downtown?", 0, 0, 1),
    ("library", "Evening hours will help students who work after school.", 0, 0, 0),
    ("library", "Lending laptops is a smart use of the library budget.", 0, 0, 0),
    ("library", "The library staff are always kind to my kids.", 0, 0, 0),
    ("library", "Whoever runs the library is a pathetic idiot.", 1, 1, 0),
    ("library", "Shut up, you clueless idiot, nobody asked you.", 1, 1, 0),
    ("library", "Stupid idea from stupid people, what a joke.", 1, 1, 0),
    ("library", "My cat knocked over the christmas tree again lol.", 0, 0, 1),
    ("library", "Best crypto signals, join my channel for free profits!", 0, 0, 1),
    ("library", "What time does the football match start tonight?", 0, 0, 1),
    ("bridge", "I lost money on the football pools again this week.", 0, 0, 1),
]


def write_tiny_corpus(directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    comments = directory / "comments.jsonl"
    articles = directory / "articles.jsonl"
    with comments.open("w", encoding="utf-8") as handle:
        for i, (article, text, toxic, insult, off_topic) in enumerate(TINY_COMMENTS):
            handle.write(json.dumps({"id": f"t{i}", "article_id": article, "text": text, "toxic": toxic,
                                     "insult": insult, "off_topic": off_topic}) + "\n")
    articles.write_text("".join(json.dumps(a) + "\n" for a in TINY_ARTICLES), encoding="utf-8")
    return comments, articles


# Background threads an app starts (moderation.web.app.create_app) and stops when it is shut down.
APP_THREADS = ("thread-memory", "webhook-dispatcher", "model-watcher")


@pytest.fixture(scope="session", autouse=True)
def background_work_ends_with_its_app():
    """Fail the run when an app's background threads, or thread memory it never wrote, outlive the tests.

    Apps must be shut down (``moderation.web.app.shutdown``, as ``app_factory`` does) while their database is still
    reachable, and a ThreadMemory made on its own closed: otherwise its writer runs on, or its entries are written
    (or fail to be) at the interpreter's exit, after pytest's summary.
    """
    yield
    from moderation.service.threads import ThreadMemory

    threads = [thread for thread in threading.enumerate() if thread.name in APP_THREADS]
    for thread in threads:
        thread.join(timeout=1)  # a stopped model watcher may still be finishing its last wait
    alive = sorted(thread.name for thread in threads if thread.is_alive())
    assert not alive, f"background threads outlived their apps: {alive}"
    unwritten = [memory for memory in gc.get_objects() if isinstance(memory, ThreadMemory) and memory._pending]
    assert not unwritten, (f"{len(unwritten)} thread memories still hold entries their app never wrote: "
                           "an app was shut down after its database went away")


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory) -> tuple[Path, Path]:
    return write_tiny_corpus(tmp_path_factory.mktemp("tiny-corpus"))


# Five or six positives a label can never reach MIN_DECIDING_POSITIVES; the tests of holding and rejecting
# need a model whose labels decide, so the tiny model lets three positives (of two article folds) decide.
TINY_DECIDING_POSITIVES = 3


def _train_tiny(models_dir: Path, comments: Path, articles: Path,
                min_deciding_positives: int = TINY_DECIDING_POSITIVES, encoder: bool = False) -> Registry:
    registry = Registry(models_dir)
    data = load_data([("native", str(comments))], [str(articles)])
    _, metadata = train(data, registry, n_topics=8, swap_fraction=0.5, min_positives=2, test_size=0.0,
                        min_deciding_positives=min_deciding_positives, encoder=encoder, log=lambda message: None)
    registry.promote(metadata["version"])
    return registry


@pytest.fixture(scope="session")
def tiny_registry(tmp_path_factory, tiny_corpus) -> Registry:
    """A registry whose current model was trained on the tiny corpus (labels toxic, insult, off_topic).

    It is the lexical model (no sentence encoder): the service's tests pin its scores against fixed policies.
    The semantic tier is tested with ``tiny_semantic_registry`` and with the default model.
    """
    return _train_tiny(tmp_path_factory.mktemp("tiny-models"), *tiny_corpus)


@pytest.fixture(scope="session")
def tiny_semantic_registry(tmp_path_factory, tiny_corpus) -> Registry:
    """The tiny model with the semantic tier (the sentence encoder), as ``moderation train`` builds by default."""
    return _train_tiny(tmp_path_factory.mktemp("tiny-semantic-models"), *tiny_corpus, encoder=True)


@pytest.fixture(scope="session")
def undecided_registry(tmp_path_factory, tiny_corpus) -> Registry:
    """The tiny model trained with the real minimum of positives: none of its labels decides."""
    return _train_tiny(tmp_path_factory.mktemp("undecided-models"), *tiny_corpus,
                       min_deciding_positives=MIN_DECIDING_POSITIVES)


@pytest.fixture(scope="session")
def default_registry(tmp_path_factory) -> Registry:
    """A registry whose current model is the default model, trained on the bundled corpus in data/."""
    registry = Registry(tmp_path_factory.mktemp("default-models"))
    _, metadata = train(load_data(default_data(), default_articles()), registry, log=lambda message: None)
    registry.promote(metadata["version"])
    return registry


@pytest.fixture
def app_factory(tmp_path, tiny_registry):
    """Build apps on a fresh SQLite file and the tiny model; extra config overrides the defaults."""
    from moderation.web.app import create_app, shutdown

    made = []

    def make(**config):
        settings = {"DATABASE_URL": f"sqlite:///{tmp_path / 'service.db'}", "MODELS_DIR": str(tiny_registry.root),
                    "MODEL_POLL_SECONDS": 0, "TESTING": True, **config}
        application = create_app(settings)
        made.append(application)
        return application

    yield make
    for application in made:
        shutdown(application)


@pytest.fixture
def app(app_factory):
    return app_factory()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_key(app):
    """Create an API key with the given scopes in the app's store; returns the secret."""
    from moderation.service import keys

    def make(*scopes, name="test"):
        secret, _ = keys.create(app.extensions["moderation.store"], name, scopes or ("score",))
        return secret
    return make


@pytest.fixture
def auth(make_key):
    """Headers carrying a key with every scope."""
    return {"Authorization": f"Bearer {make_key('score', 'review', 'admin')}"}


@pytest.fixture
def cli(capsys):
    """Run `moderation *argv` in this process, check its exit code and that it printed no traceback; (out, err)."""
    from moderation.cli import main

    def invoke(*argv, expect=0):
        with pytest.raises(SystemExit) as exit_info:
            main(list(argv))
        out, err = capsys.readouterr()
        assert exit_info.value.code == expect, err
        assert "Traceback" not in err
        return out, err
    return invoke


POSTGRES_ADMIN_URL = os.environ.get("MODERATION_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh PostgreSQL database for this test session, dropped afterwards.

    The server is required: the tests fail (not skip) when it is unreachable, so CI cannot pass without it.
    """
    import uuid

    import psycopg

    plain = POSTGRES_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    try:
        admin = psycopg.connect(plain, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL is required for these tests and is unreachable at {plain}: {error}. "
                    "Start it or point MODERATION_TEST_POSTGRES at one.")
    name = f"moderation_test_{uuid.uuid4().hex[:10]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """Each test using this runs twice: on a SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url = request.getfixturevalue("postgres_url")
    from sqlalchemy import create_engine, text
    engine = create_engine(url)
    with engine.begin() as connection:  # a clean schema for every test
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture
def two_versions(tiny_registry, tmp_path):
    """A fresh registry holding the tiny model (promoted) and a second saved copy of it: (registry, first, second)."""
    import shutil

    from moderation.runtime.artifact import load

    registry = Registry(tmp_path / "two-versions")
    first = tiny_registry.current()
    shutil.copytree(tiny_registry.path(first), registry.path(first))
    registry.promote(first)
    artifact = load(registry.path(first))
    second = registry.save(artifact.pipeline, {k: v for k, v in artifact.metadata.items() if k != "version"}).name
    return registry, first, second
