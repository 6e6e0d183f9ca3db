"""Detection quality on labelled texts: the real pipeline, measured like a classifier.

Two modes share one analysis loop.  ``evaluate`` scores one labelled CSV for a set of categories.
``evaluate_suite`` scores a folder of labelled sets (``<category>[-<variant>]/test.csv``) plus the
real-conversation set (``conversation/test.csv``, every line label 0): per set precision, recall and
F1, the share of ordinary conversation lines each category flags, and the worst of those false
alarms, so a threshold is chosen by looking at what it costs.
"""

from __future__ import annotations

import csv
import io
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from auditor.analyzer import Analyzer, Ruleset
from auditor.categories import FINDING_CATEGORIES, SEVERITIES
from auditor.detectors.base import Hit
from auditor.errors import AuditorError
from auditor.training import Labelled, metrics, read_labelled

BATCH = 2000
CONVERSATION = "conversation"
# Set folders named after what they hold rather than after a finding category.
ALIASES = {"offensive": "abuse"}
TEXT_COLUMNS = ("text", "TEXT")


def top_hits(analyzer: Analyzer, texts: list[str]) -> list[dict[str, Hit]]:
    """Per text, the finding each category would raise: its most severe hit (as the policy ranks them)."""
    out: list[dict[str, Hit]] = []
    for start in range(0, len(texts), BATCH):
        batch = [(t, False) for t in texts[start : start + BATCH]]
        for hits in analyzer.analyze_many(batch):
            best: dict[str, Hit] = {}
            for hit in sorted(hits, key=lambda h: (-SEVERITIES.index(h.severity), -h.score, h.start, h.rule)):
                best.setdefault(hit.category, hit)
            out.append(best)
    return out


def _score(labelled: Labelled, flags: list[dict[str, Hit]], categories: tuple[str, ...]) -> dict[str, Any]:
    predicted = np.array([int(any(c in f for c in categories)) for f in flags], dtype=int)
    rules: dict[str, int] = {}
    for found in flags:
        for rule in {found[c].rule for c in categories if c in found}:
            rules[rule] = rules.get(rule, 0) + 1
    return {
        **metrics(labelled.labels, predicted),
        "positives_by_rule": dict(sorted(rules.items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def evaluate(ruleset: Ruleset, labelled: Labelled, categories: tuple[str, ...]) -> dict[str, Any]:
    """A text is predicted positive when any detector of ``categories`` finds something in it."""
    flags = top_hits(Analyzer(ruleset), labelled.texts)
    return {
        "categories": list(categories),
        "ruleset_version": ruleset.version,
        **_score(labelled, flags, categories),
    }


# --- suites -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelledSet:
    name: str
    category: str
    path: Path


def category_of(name: str) -> str:
    """``abuse``, ``abuse-cold-dev`` and ``offensive-x`` name sets of the categories abuse, abuse, abuse."""
    head = name.split("-", 1)[0]
    category = ALIASES.get(head, head)
    if category not in FINDING_CATEGORIES:
        raise AuditorError(
            f"set {name!r}: its name must start with a finding category "
            f"({', '.join(FINDING_CATEGORIES)}) or one of {', '.join(ALIASES)}"
        )
    return category


def discover(root: Path) -> tuple[list[LabelledSet], Path | None]:
    """The labelled sets under ``root`` (each folder's ``test.csv``) and the conversation test set."""
    if not root.is_dir():
        raise AuditorError(f"{root}: not a folder of evaluation sets")
    sets, conversation = [], None
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        test = folder / "test.csv"
        if not test.is_file():
            continue
        if folder.name == CONVERSATION:
            conversation = test
        else:
            sets.append(LabelledSet(folder.name, category_of(folder.name), test))
    return sets, conversation


def read_set(path: Path) -> Labelled:
    """A labelled CSV whose text column is ``text`` (the suite's layout) or ``TEXT`` (COLD's)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditorError(f"cannot read {path}: {exc}") from None
    column = next((c for c in TEXT_COLUMNS if c in header), TEXT_COLUMNS[0])
    return read_labelled(path, column, "label")


def read_sources(path: Path) -> list[str]:
    """The ``source`` column of the conversation set ("" where there is none)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [row.get("source") or "" for row in csv.DictReader(handle)]


def _rate(count: int, total: int) -> float:
    return round(count / total, 6) if total else 0.0


def conversation_report(
    labelled: Labelled,
    sources: list[str],
    flags: list[dict[str, Hit]],
    categories: tuple[str, ...],
    worst: int,
) -> dict[str, Any]:
    """How often ordinary conversation is flagged, overall, per category and per source; the worst cases."""
    total = len(labelled.texts)
    flagged = [{c: h for c, h in f.items() if c in categories} for f in flags]
    per_category = {c: sum(c in f for f in flagged) for c in categories}
    per_source: dict[str, list[int]] = {}
    for source, found in zip(sources, flagged, strict=True):
        counts = per_source.setdefault(source, [0, 0])
        counts[0] += 1
        counts[1] += bool(found)
    alarms = [
        {
            "text": text,
            "source": source,
            "category": c,
            "rule": h.rule,
            "severity": h.severity,
            "score": h.score,
        }
        for text, source, found in zip(labelled.texts, sources, flagged, strict=True)
        for c, h in found.items()
    ]
    alarms.sort(key=lambda a: (-a["score"], -SEVERITIES.index(a["severity"]), a["category"], a["text"]))
    # Round-robin over categories, each in score order: a rule that fires at score 1.0 on many lines
    # would otherwise hide the model's borderline cases, which are the ones a threshold is chosen on.
    rank_in_category: dict[str, int] = {}
    ranked = []
    for alarm in alarms:
        rank = rank_in_category[alarm["category"]] = rank_in_category.get(alarm["category"], -1) + 1
        ranked.append((rank, alarm))
    worst_first = [a for _, a in sorted(ranked, key=lambda ra: ra[0])]
    by_rule: dict[str, int] = {}
    for alarm in alarms:
        key = f"{alarm['category']}/{alarm['rule']}"
        by_rule[key] = by_rule.get(key, 0) + 1
    any_flag = sum(bool(f) for f in flagged)
    return {
        "texts": total,
        "flagged": any_flag,
        "flagged_rate": _rate(any_flag, total),
        "per_category": {c: {"flagged": n, "rate": _rate(n, total)} for c, n in per_category.items() if n},
        "per_source": {
            s: {"texts": n, "flagged": k, "rate": _rate(k, n)} for s, (n, k) in sorted(per_source.items())
        },
        "by_rule": dict(sorted(by_rule.items(), key=lambda kv: (-kv[1], kv[0]))),
        "worst": [{**a, "score": round(float(a["score"]), 4)} for a in worst_first[:worst]],
    }


def evaluate_suite(
    ruleset: Ruleset,
    sets: list[LabelledSet],
    conversation: Path | None,
    categories: tuple[str, ...] = FINDING_CATEGORIES,
    worst: int = 20,
) -> dict[str, Any]:
    """Every labelled set of ``categories`` scored for its own category; conversation for all of them."""
    analyzer = Analyzer(ruleset)
    result: dict[str, Any] = {"ruleset_version": ruleset.version, "sets": {}, "conversation": None}
    for labelled_set in sets:
        if labelled_set.category not in categories:
            continue
        labelled = read_set(labelled_set.path)
        flags = top_hits(analyzer, labelled.texts)
        result["sets"][labelled_set.name] = {
            "category": labelled_set.category,
            "path": str(labelled_set.path),
            **_score(labelled, flags, (labelled_set.category,)),
        }
    if conversation is not None:
        labelled = read_set(conversation)
        if labelled.labels.any():
            raise AuditorError(f"{conversation}: the conversation set must be all label 0")
        flags = top_hits(analyzer, labelled.texts)
        report = conversation_report(labelled, read_sources(conversation), flags, categories, worst)
        result["conversation"] = {"path": str(conversation), **report}
    return result


# --- targets ------------------------------------------------------------------------------------


def read_targets(path: Path) -> list[dict[str, Any]]:
    """``[[target]]`` tables: ``set``, ``metric``, one of ``at_least``/``at_most``, and a ``label``."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AuditorError(f"cannot read {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise AuditorError(f"{path}: not valid TOML: {exc}") from None
    targets = data.get("target", [])
    for number, target in enumerate(targets, start=1):
        if not isinstance(target, dict) or not {"set", "metric"} <= target.keys():
            raise AuditorError(f"{path}: target {number} needs 'set' and 'metric'")
        if ("at_least" in target) == ("at_most" in target):
            raise AuditorError(f"{path}: target {number} needs exactly one of 'at_least' and 'at_most'")
    return targets


def check_targets(result: dict[str, Any], targets: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target next to its measured figure; a set that was not measured is "no data", not a failure."""
    checked = []
    for target in targets:
        measured = (
            result["conversation"] if target["set"] == CONVERSATION else result["sets"].get(target["set"])
        )
        value = None if measured is None else measured.get(target["metric"])
        if "at_least" in target:
            bound, met = target["at_least"], value is not None and value >= target["at_least"]
        else:
            bound, met = target["at_most"], value is not None and value <= target["at_most"]
        checked.append(
            {
                "label": target.get("label", f"{target['set']} {target['metric']}"),
                "set": target["set"],
                "metric": target["metric"],
                "bound": ("≥ " if "at_least" in target else "≤ ") + f"{bound:g}",
                "measured": value,
                "status": "no data" if value is None else ("met" if met else "not met"),
            }
        )
    return checked


# --- the printed table --------------------------------------------------------------------------


def printable(text: str, width: int = 60) -> str:
    """Chat text is hostile: control and format characters never reach the terminal."""
    shown = "".join(ch if unicodedata.category(ch)[0] not in "CZ" or ch == " " else "·" for ch in text)
    return shown if len(shown) <= width else shown[: width - 1] + "…"


def format_suite(result: dict[str, Any]) -> str:
    out = io.StringIO()
    out.write(f"ruleset {result['ruleset_version']}\n\n")
    out.write(f"{'set':<28} {'category':<10} {'texts':>6} {'prec':>6} {'recall':>6} {'f1':>6} {'acc':>6}\n")
    for name, s in result["sets"].items():
        out.write(
            f"{name:<28} {s['category']:<10} {s['support']:>6} {s['precision']:>6.3f} "
            f"{s['recall']:>6.3f} {s['f1']:>6.3f} {s['accuracy']:>6.3f}\n"
        )
    conv = result["conversation"]
    if conv is not None:
        out.write(
            f"\nconversation: {conv['flagged']} of {conv['texts']} lines flagged "
            f"({conv['flagged_rate']:.2%}, 1 in {conv['texts'] // max(conv['flagged'], 1)})\n"
        )
        out.write(f"  {'category':<16} {'flagged':>7} {'rate':>8}\n")
        for category, c in sorted(
            result["conversation"]["per_category"].items(), key=lambda kv: -kv[1]["flagged"]
        ):
            out.write(f"  {category:<16} {c['flagged']:>7} {c['rate']:>8.3%}\n")
        out.write(f"  {'source':<16} {'texts':>7} {'rate':>8}\n")
        for source, s in conv["per_source"].items():
            out.write(f"  {source or '-':<16} {s['texts']:>7} {s['rate']:>8.3%}\n")
        out.write("  rules: " + ", ".join(f"{r} {n}" for r, n in list(conv["by_rule"].items())[:12]) + "\n")
        out.write(
            f"\nworst false alarms ({len(conv['worst'])}, the highest-scored of each category in turn)\n"
        )
        for a in conv["worst"]:
            out.write(f"  {a['score']:.3f} {a['category']:<10} {a['rule']:<22} {printable(a['text'])}\n")
    if result.get("targets"):
        out.write("\ntargets\n")
        for t in result["targets"]:
            measured = "-" if t["measured"] is None else f"{t['measured']:.4f}"
            out.write(f"  {t['label']:<44} {t['bound']:>9} {measured:>8}  {t['status']}\n")
    return out.getvalue()
