"""Measure the understanding against a labeled corpus: per-intent precision and recall, confusion,
service accuracy, and the safety figures (every emergency and opt-out caught, no false opt-out)."""

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from .understanding import INTENTS, MenuItem, default_understander

CORPUS = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "receptionist" / "corpus.jsonl"
# A fixed clock, so that "tomorrow" means the same thing in every run.
EVAL_NOW = datetime(2026, 12, 2, 10, 0, tzinfo=ZoneInfo("America/New_York"))


def demo_menu() -> list[MenuItem]:
    from practices.demo import MENU

    return [MenuItem(slug=row[0], names=(row[1], row[0].replace("-", " "), *row[9])) for row in MENU]


def load_corpus(path: Path = CORPUS, split: str | None = None) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [row for row in rows if split in (None, "all") or row.get("split") == split]


@dataclass
class Report:
    total: int = 0
    intent_correct: int = 0
    service_total: int = 0
    service_correct: int = 0
    confusion: dict = field(default_factory=lambda: defaultdict(Counter))
    missed_emergencies: list = field(default_factory=list)
    missed_opt_outs: list = field(default_factory=list)
    false_opt_outs: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    @property
    def intent_accuracy(self) -> float:
        return self.intent_correct / self.total if self.total else 0.0

    @property
    def service_accuracy(self) -> float:
        return self.service_correct / self.service_total if self.service_total else 0.0

    def precision_recall(self) -> dict[str, tuple[float, float, int]]:
        figures = {}
        for intent in INTENTS:
            true_positive = self.confusion[intent][intent]
            predicted = sum(self.confusion[actual][intent] for actual in self.confusion)
            actual = sum(self.confusion[intent].values())
            precision = true_positive / predicted if predicted else 0.0
            recall = true_positive / actual if actual else 0.0
            figures[intent] = (precision, recall, actual)
        return figures


def evaluate(rows: list[dict], *, menu: list[MenuItem] | None = None) -> Report:
    menu = menu or demo_menu()
    understander = default_understander()
    report = Report()
    for row in rows:
        result = understander.understand(row["text"], menu=menu, now=EVAL_NOW, zone=EVAL_NOW.tzinfo)
        report.total += 1
        report.confusion[row["intent"]][result.intent] += 1
        if result.intent == row["intent"]:
            report.intent_correct += 1
        else:
            report.errors.append((row["text"], row["intent"], result.intent))
        if row.get("service") or result.service:
            report.service_total += 1
            if result.service == row.get("service"):
                report.service_correct += 1
        is_emergency = row["intent"] == "emergency" or row.get("escalation") == "emergency"
        if is_emergency and not (result.intent == "emergency" or result.escalation == "emergency"):
            report.missed_emergencies.append(row["text"])
        if row["intent"] == "opt_out" and result.intent != "opt_out":
            report.missed_opt_outs.append(row["text"])
        if row["intent"] != "opt_out" and result.intent == "opt_out":
            report.false_opt_outs.append(row["text"])
    return report


def format_report(report: Report) -> str:
    lines = [
        f"messages: {report.total}",
        f"intent accuracy: {report.intent_accuracy:.1%}",
        f"service accuracy: {report.service_accuracy:.1%} ({report.service_correct}/{report.service_total})",
        f"emergencies missed: {len(report.missed_emergencies)}",
        f"opt-outs missed: {len(report.missed_opt_outs)}",
        f"false opt-outs: {len(report.false_opt_outs)}",
        "",
        f"{'intent':<15}{'precision':>10}{'recall':>8}{'n':>5}",
    ]
    for intent, (precision, recall, count) in report.precision_recall().items():
        if count or precision:
            lines.append(f"{intent:<15}{precision:>10.0%}{recall:>8.0%}{count:>5}")
    lines += ["", "confusion (actual -> predicted, off-diagonal):"]
    for actual, row in sorted(report.confusion.items()):
        wrong = {predicted: n for predicted, n in row.items() if predicted != actual}
        if wrong:
            lines.append(f"  {actual:<14} " + ", ".join(f"{p} x{n}" for p, n in sorted(wrong.items())))
    return "\n".join(lines)
