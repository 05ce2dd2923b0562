"""Match latency: p50/p99 of `decide` over the dev set, on the real knowledge base and on
synthetic ones 10x and 100x larger.

    .venv/bin/python bench/match.py [--dev ../shared/eval/dev.jsonl] [--repeat 5]

The synthetic knowledge bases copy every topic and article N times under new codes and ids,
with each copy's phrasings and keywords changed (words from other articles mixed in) so that the
copies are not identical strings. Each figure is over every dev question, `--repeat` times, after
one unmeasured pass.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from dataclasses import replace
from pathlib import Path

from chatsvc.bot.matcher import build_index, decide
from chatsvc.catalogue.knowledge import Article, KnowledgeBase, load_knowledge_base
from chatsvc.settings import DEFAULT_KNOWLEDGE_BASE

REPO = Path(__file__).resolve().parent.parent
TARGETS_MS = {1: 2.0, 100: 20.0}


def scaled(kb: KnowledgeBase, factor: int, rng: random.Random) -> KnowledgeBase:
    """The knowledge base with every topic and article copied `factor` times, varied."""
    if factor == 1:
        return kb
    words = sorted({w for a in kb.articles for p in a.phrasings for w in p.lower().split()})
    topics = dict(kb.topics)
    articles: list[Article] = list(kb.articles)
    for copy in range(1, factor):
        for code, topic in kb.topics.items():
            topics[f"{code}-x{copy}"] = replace(topic, code=f"{code}-x{copy}")
        for article in kb.articles:

            def vary(text: str) -> str:
                parts = text.split()
                parts[rng.randrange(len(parts))] = rng.choice(words)
                return " ".join([*parts, rng.choice(words)])

            articles.append(
                replace(
                    article,
                    id=f"{article.id}-x{copy}",
                    topic=f"{article.topic}-x{copy}",
                    phrasings=tuple(vary(p) for p in article.phrasings),
                    keywords=tuple(rng.choice(words) for _ in article.keywords),
                )
            )
    return KnowledgeBase(topics, tuple(articles), kb.synonyms, kb.intents, kb.center)


def measure(texts: list[str], kb: KnowledgeBase, repeat: int) -> dict[str, float]:
    started = time.perf_counter()
    index = build_index(kb)
    build_s = time.perf_counter() - started
    for text in texts:
        decide(text, index)
    timings = []
    for _ in range(repeat):
        for text in texts:
            t0 = time.perf_counter()
            decide(text, index)
            timings.append((time.perf_counter() - t0) * 1000)
    timings.sort()
    return {
        "articles": len(kb.articles),
        "phrasings": len(index.phrasing_texts),
        "index_build_s": build_s,
        "p50_ms": statistics.median(timings),
        "p99_ms": timings[int(len(timings) * 0.99) - 1],
        "max_ms": timings[-1],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dev", type=Path, default=REPO.parent / "shared/eval/dev.jsonl")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    texts = [json.loads(line)["text"] for line in args.dev.read_text().splitlines() if line.strip()]
    kb = load_knowledge_base(DEFAULT_KNOWLEDGE_BASE)
    rng = random.Random(1)
    print(f"{len(texts)} questions x {args.repeat}; machine: 2 cores")
    print(
        f"{'knowledge base':>16} {'articles':>9} {'phrasings':>10} {'build s':>8} "
        f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  target"
    )
    for factor in (1, 10, 100):
        figures = measure(texts, scaled(kb, factor, rng), args.repeat)
        target = TARGETS_MS.get(factor)
        verdict = ""
        if target is not None:
            verdict = f"p99 < {target:g} ms: {'MET' if figures['p99_ms'] < target else 'MISSED'}"
        name = "real" if factor == 1 else f"{factor}x"
        f = figures
        print(
            f"{name:>16} {f['articles']:>9} {f['phrasings']:>10} {f['index_build_s']:>8.2f} "
            f"{f['p50_ms']:>8.3f} {f['p99_ms']:>8.3f} {f['max_ms']:>8.3f}  {verdict}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
