"""Measuring the assistant on labelled questions (`chatsvc eval`)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from chatsvc.bot.matcher import Index, decide
from chatsvc.catalogue.knowledge import SPECIAL_INTENTS


class EvalFileError(ValueError):
    """A line of the evaluation file is not {"text": ..., "expect": ...}."""


@dataclass
class Report:
    total: int = 0
    correct: int = 0
    per_class: Counter[str] = field(default_factory=Counter)
    per_class_correct: Counter[str] = field(default_factory=Counter)
    misses: list[tuple[str, str, str, float]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def lines(self) -> list[str]:
        out = [f"{self.correct}/{self.total} correct"]
        out.append("per class (correct/total):")
        for name in sorted(self.per_class):
            out.append(f"  {name:28} {self.per_class_correct[name]}/{self.per_class[name]}")
        if self.misses:
            out.append("misses (expected -> predicted, score: text):")
            for expected, predicted, text, score in self.misses:
                out.append(f"  {expected} -> {predicted} ({score:.2f}): {text}")
        out.append(f"accuracy: {self.accuracy:.3f}")
        return out


def read_examples(path: Path, topics: set[str]) -> list[tuple[str, str]]:
    """Read `{"text": ..., "expect": ...}` lines; refuse the file on the first bad one."""
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalFileError(f"{path}:{number}: not JSON: {exc.msg}") from None
        if not isinstance(item, dict) or not isinstance(item.get("text"), str):
            raise EvalFileError(f'{path}:{number}: expected {{"text": ..., "expect": ...}}')
        expect = item.get("expect")
        if not isinstance(expect, str) or (expect not in topics and expect not in SPECIAL_INTENTS):
            raise EvalFileError(f"{path}:{number}: unknown expect {expect!r}")
        examples.append((item["text"], expect))
    return examples


def evaluate(examples: list[tuple[str, str]], index: Index) -> Report:
    """Decide every example and compare with its label."""
    report = Report()
    for text, expect in examples:
        decision = decide(text, index)
        report.total += 1
        report.per_class[expect] += 1
        if decision.intent == expect:
            report.correct += 1
            report.per_class_correct[expect] += 1
        else:
            report.misses.append((expect, decision.intent, text, decision.score))
    return report
