"""The sentence encoder alone as a whole process, for benchmarks.bulk: load it, embed a JSON-lines file's texts.

``python -m benchmarks._encoder_alone INPUT`` prints one JSON line: texts, load and encoding seconds.
"""
from __future__ import annotations

import json
import sys
import time


def main(path: str) -> None:
    started = time.perf_counter()
    from moderation.model.encoder import SentenceEncoder

    encoder = SentenceEncoder()  # no disk cache: every text is encoded, as when scoring
    with open(path, encoding="utf-8") as handle:
        texts = [json.loads(line)["text"] for line in handle]
    loaded = time.perf_counter()
    encoder.encode(list(dict.fromkeys(texts)))
    done = time.perf_counter()
    print(json.dumps({"texts": len(texts), "load_seconds": round(loaded - started, 2),
                      "encode_seconds": round(done - loaded, 2)}))


if __name__ == "__main__":
    main(sys.argv[1])
