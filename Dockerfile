# The moderation service in production: `moderation serve` (granian, MODERATION_WORKERS, default 2) on port 8000, the default
# model trained at build time into /var/lib/moderation/models, SQLite in /var/lib/moderation unless
# MODERATION_DATABASE_URL names a PostgreSQL database. Build: docker build -t comment-moderation .
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

WORKDIR /opt/moderation
COPY pyproject.toml README.md ./
COPY moderation ./moderation
COPY training ./training
COPY data ./data
COPY setup.py ./
# One module is compiled (moderation/model/_ngram_count.pyx): a C compiler for the install, removed after it.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && pip install '.[postgres]' \
    && apt-get purge -y --auto-remove gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*

# Train as the service user, so that the model registry in MODERATION_HOME is its own.
USER moderation
RUN moderation train --data /opt/moderation/data/comments.jsonl --articles /opt/moderation/data/articles.jsonl

WORKDIR /var/lib/moderation
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('MODERATION_BIND', ':8000').rsplit(':', 1)[1]; urllib.request.urlopen(f'http://127.0.0.1:{port}/readyz', timeout=4)"]
CMD ["moderation", "serve"]
