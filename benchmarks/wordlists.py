"""What a 10,000-entry word list costs one comment, and the two ways of matching it that were weighed.

The service matches plain entries by whole words through a hash index of their first word
(``moderation.service.wordlists``): one dictionary look-up per word of the comment, whatever the list's size. The
alternative measured beside it is one compiled regular expression of every entry (escaped, longest first, in
whole-word lookarounds) run over the same normalised text. Both read the text as the model does
(``normalize_with_offsets``), whose cost is shown on its own: it is paid once per comment, for every list.

Lists: ``rare`` is 9,000 made-up words, 900 two-word phrases and 100 real insults (few comments match);
``common`` holds the 2,000 most frequent words of the corpus besides (most comments match several entries).
Comments: the bundled corpus (data/comments.jsonl, 2,308 comments). Run from the repository root::

    python -m benchmarks.wordlists

Writes ``benchmarks/results/wordlists.json`` and ``wordlists.md`` and prints the table.
"""
from __future__ import annotations

import json
import platform
import random
import re
import statistics
import time
from collections import Counter

from moderation.model.text import normalize, normalize_with_offsets
from moderation.service import wordlists

from .corpora import ROOT, write_results

ENTRIES = 10_000
ROUNDS = 5
INSULTS = ["idiot", "moron", "stupid", "loser", "clown", "jerk", "fool", "dumb", "pathetic", "scum", "trash",
           "imbecile", "cretin", "dimwit", "halfwit", "nitwit", "numbskull", "bonehead", "airhead", "dunce"]


def _comments() -> list[str]:
    with (ROOT / "data" / "comments.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line)["text"] for line in handle if line.strip()]


def _entries(kind: str, comments: list[str], seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    entries = list(INSULTS)
    if kind == "common":
        counts = Counter(w for text in comments for w in wordlists.WORD_RE.findall(normalize(text)))
        entries += [w for w, _ in counts.most_common(2000)]
    while len(entries) < ENTRIES - 900:
        entries.append("".join(rng.choice(letters) for _ in range(rng.randint(5, 10))))
    while len(entries) < ENTRIES:
        entries.append(" ".join("".join(rng.choice(letters) for _ in range(rng.randint(4, 8))) for _ in range(2)))
    return entries[:ENTRIES]


def _one_regex(entries: list[str]) -> re.Pattern:
    words = sorted({" ".join(wordlists.WORD_RE.findall(normalize(e))) for e in entries}, key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, words)) + r")(?!\w)")


def _per_comment(function, texts: list[str]) -> dict:
    """Microseconds per comment: median and 99th percentile of one call each, best of ROUNDS passes' medians."""
    medians, everything = [], []
    for _ in range(ROUNDS):
        times = []
        for text in texts:
            start = time.perf_counter_ns()
            function(text)
            times.append((time.perf_counter_ns() - start) / 1000)
        medians.append(statistics.median(times))
        everything += times
    everything.sort()
    return {"median_us": round(min(medians), 2), "p99_us": round(everything[int(len(everything) * 0.99)], 2),
            "mean_us": round(statistics.fmean(everything), 2)}


def measure(kind: str, comments: list[str]) -> dict:
    entries = _entries(kind, comments)
    start = time.perf_counter()
    matcher = wordlists.Matcher([wordlists.compile_list("bench", [wordlists.Entry(text=e) for e in entries])])
    index_build = time.perf_counter() - start
    start = time.perf_counter()
    pattern = _one_regex(entries)
    regex_build = time.perf_counter() - start
    normalized = {text: normalize_with_offsets(text)[0] for text in comments}
    index_words = matcher.lists[0]

    def index_only(text):
        index_words.find(normalized[text], list(wordlists.WORD_RE.finditer(normalized[text])))

    def regex_only(text):
        return pattern.findall(normalized[text])

    matched = sum(bool(matcher.find(text)) for text in comments)
    same = sum(len(matcher.find(t)) == len(pattern.findall(normalized[t])) for t in comments)
    return {
        "entries": len(entries), "comments_matched": matched, "comments": len(comments),
        "index_and_regex_agree_on_match_counts": same,
        "build_s": {"hash_index": round(index_build, 3), "one_regex": round(regex_build, 3)},
        "service_find": _per_comment(matcher.find, comments),
        "hash_index_alone": _per_comment(index_only, comments),
        "one_regex_alone": _per_comment(regex_only, comments),
    }


def main() -> None:
    comments = _comments()
    report = {"python": platform.python_version(), "machine": platform.machine(), "rounds": ROUNDS,
              "normalize_with_offsets": _per_comment(normalize_with_offsets, comments),
              "lists": {kind: measure(kind, comments) for kind in ("rare", "common")}}
    rows = ["| list | comments matched | service `find` (normalise + match) median / p99 µs | hash index alone "
            "median / p99 µs | one regex alone median / p99 µs | build: index / regex s |", "|---|---|---|---|---|---|"]
    for kind, result in report["lists"].items():
        rows.append(f"| {kind} ({result['entries']:,} entries) | {result['comments_matched']} of "
                    f"{result['comments']} | {result['service_find']['median_us']} / {result['service_find']['p99_us']}"
                    f" | {result['hash_index_alone']['median_us']} / {result['hash_index_alone']['p99_us']} | "
                    f"{result['one_regex_alone']['median_us']} / {result['one_regex_alone']['p99_us']} | "
                    f"{result['build_s']['hash_index']} / {result['build_s']['one_regex']} |")
    norm = report["normalize_with_offsets"]
    table = ("# Word lists: cost per comment\n\n" + "\n".join(rows) + "\n\n"
             f"`normalize_with_offsets` alone: median {norm['median_us']} µs, p99 {norm['p99_us']} µs per comment "
             "(paid once per comment when any list applies).\n")
    write_results("wordlists", report, table)
    print(table)


if __name__ == "__main__":
    main()
