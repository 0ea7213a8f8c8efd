"""``moderation serve``: the production server (granian), or Flask's development server."""
from __future__ import annotations

from pathlib import Path

import click

from ..server import DEFAULT_THREADS, DEFAULT_WORKERS


@click.command()
@click.option("--bind", envvar="MODERATION_BIND", default="127.0.0.1:8000", show_default=True,
              help="HOST:PORT to listen on (MODERATION_BIND).")
@click.option("--workers", envvar="MODERATION_WORKERS", default=DEFAULT_WORKERS, show_default=True,
              type=click.IntRange(1),
              help="Worker processes, one per core (MODERATION_WORKERS).")
@click.option("--threads", envvar="MODERATION_THREADS", default=DEFAULT_THREADS, show_default=True,
              type=click.IntRange(1),
              help="Request threads per worker (MODERATION_THREADS).")
@click.option("--dev", is_flag=True, help="Flask's development server instead (one process, reloads nothing).")
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --dev: a file holding an API key, quoted in the printed curl example.")
def serve(bind, workers, threads, dev, key_file):
    """Run the service: granian with WSGI workers (production; logs are JSON lines), or Flask's development
    server (--dev)."""
    from ..server import bind_address

    try:
        host, port = bind_address(bind)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--bind") from None
    if dev:
        from ..web.app import create_app

        key = key_file.read_text().strip() if key_file and key_file.exists() else "YOUR_KEY"
        click.echo(f"listening on http://{host}:{port}  (docs /docs, review UI /review, metrics /metrics)\n"
                   f"try:\n  curl -s http://{host}:{port}/v1/moderate -H 'Authorization: Bearer {key}' "
                   "-H 'Content-Type: application/json' \\\n"
                   "       -d '{\"comment\": {\"id\": \"1\", \"text\": \"You are a clown.\"}}'", err=True)
        create_app().run(host=host, port=port, threaded=True)
        return
    from ..server import serve as run_production

    run_production(bind, workers, threads)
