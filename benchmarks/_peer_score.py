"""alt-profanity-check as a whole process on a JSON-lines file, for benchmarks.bulk: read, score, write JSONL.

``python -m benchmarks._peer_score INPUT`` writes one ``{"id", "profanity"}`` line per comment to stdout.
"""
from __future__ import annotations

import json
import sys

from profanity_check import predict_prob

BATCH = 1000


def main(path: str) -> None:
    batch: list[dict] = []

    def flush():
        for row, p in zip(batch, predict_prob([r["text"] for r in batch])):
            sys.stdout.write(json.dumps({"id": row.get("id"), "profanity": round(float(p), 4)}) + "\n")
        batch.clear()

    with open(path, encoding="utf-8") as handle:
        for line in handle:
            batch.append(json.loads(line))
            if len(batch) >= BATCH:
                flush()
    if batch:
        flush()


if __name__ == "__main__":
    main(sys.argv[1])
