"""``auditor model train`` and ``auditor eval``: the learned detectors and detection quality."""

from __future__ import annotations

import json
from pathlib import Path

import click

from auditor.categories import FINDING_CATEGORIES, LEARNED_CATEGORIES
from auditor.cli.base import json_option, workspace_of
from auditor.workspace import Workspace


@click.group()
def model() -> None:
    """The learned detectors (abuse, rumor, ad): train one on labelled data.

    \b
    Example:
      auditor model train --train ../shared/data/cold/train.csv --dev ../shared/data/cold/dev.csv \\
          --negatives eval/data/conversation/train.csv --dev-negatives eval/data/conversation/dev.csv \\
          --out auditor/models/abuse-cold.zip --seed 0
    """


_CSV = click.Path(dir_okay=False, path_type=Path)


@model.command(name="train")
@click.option(
    "--category",
    default="abuse",
    show_default=True,
    type=click.Choice(("abuse", *LEARNED_CATEGORIES)),
    help="Which detector's model to train.",
)
@click.option(
    "--train", "train_csv", required=True, type=_CSV, help="Training CSV (text and 0/1 label columns)."
)
@click.option(
    "--dev",
    "dev_csv",
    required=True,
    type=_CSV,
    help="Development CSV: chooses the regularisation, calibration and thresholds.",
)
@click.option(
    "--held-out",
    "held_out",
    multiple=True,
    metavar="NAME=CSV",
    help="abuse: a set (text,label columns) only measured for the model card, after every choice.",
)
@click.option(
    "--negatives",
    multiple=True,
    type=_CSV,
    help="Label-0 CSV of ordinary conversation added to training (abuse: one; rumor/ad: repeatable).",
)
@click.option(
    "--dev-negatives",
    multiple=True,
    type=_CSV,
    help="Label-0 CSV whose false alarms the threshold must keep low (abuse: one; rumor/ad: repeatable).",
)
@click.option(
    "--augment",
    "augment_train",
    type=_CSV,
    help="abuse: extra labelled rows (text,label) beyond COLD's topics, weighted as its dev split says.",
)
@click.option(
    "--augment-dev",
    "augment_dev",
    type=_CSV,
    help="abuse: the augmentation set's dev split, which chooses its weight.",
)
@click.option(
    "--test", "test_csv", type=_CSV, help="rumor/ad: held-out CSV, measured for the model card only."
)
@click.option(
    "--test-negatives",
    multiple=True,
    type=_CSV,
    help="rumor/ad: held-out label-0 CSV, measured only (repeatable).",
)
@click.option(
    "--out",
    required=True,
    type=_CSV,
    help="Artifact to write (a model card is written next to it as .md).",
)
@click.option(
    "--seed", default=0, show_default=True, type=int, help="Same data and seed → identical artifact."
)
@click.option("--text-column", help="Text column [default: TEXT for abuse (COLD), text otherwise].")
@click.option("--label-column", default="label", show_default=True)
@click.option(
    "--topic-column",
    default="topic",
    show_default=True,
    help="When train and dev have it: cross-topic figures for the card (train on the others, test on one).",
)
def model_train(
    category: str,
    train_csv: Path,
    dev_csv: Path,
    held_out: tuple[str, ...],
    negatives: tuple[Path, ...],
    dev_negatives: tuple[Path, ...],
    augment_train: Path | None,
    augment_dev: Path | None,
    test_csv: Path | None,
    test_negatives: tuple[Path, ...],
    out: Path,
    seed: int,
    text_column: str | None,
    label_column: str,
    topic_column: str,
) -> None:
    """Train a learned detector's model, precision first, with ordinary conversation as hard negatives.

    The abuse model (hashed character n-grams and abuse cues, calibrated) keeps its conversation
    false alarms within budget while holding COLD dev accuracy; rumor and ad models choose C and the
    threshold for precision first under a false-alarm budget.

    \b
    Examples:
      auditor model train --train cold/train.csv --dev cold/dev.csv \\
          --negatives eval/data/conversation/train.csv --dev-negatives eval/data/conversation/dev.csv \\
          --augment eval/data/abuse-augment/train.csv --augment-dev eval/data/abuse-augment/dev.csv \\
          --held-out chineseharm=eval/data/offensive-chineseharm/test.csv --out /tmp/abuse.zip --seed 0
      auditor model train --category rumor --train eval/data/rumor/train.csv --dev eval/data/rumor/dev.csv \\
          --negatives eval/data/conversation/train.csv --dev-negatives eval/data/conversation/dev.csv \\
          --test eval/data/rumor/test.csv --out auditor/models/rumor-weibo.zip
    """
    if category == "abuse":
        from auditor.training import train

        if len(negatives) > 1 or len(dev_negatives) > 1 or test_csv or test_negatives:
            raise click.UsageError(
                "abuse takes one --negatives and one --dev-negatives; --test and --test-negatives are for "
                "rumor and ad (abuse: --held-out NAME=CSV)"
            )
        if (augment_train is None) != (augment_dev is None):
            raise click.UsageError("--augment and --augment-dev go together")
        sets = {}
        for item in held_out:
            name, sep, path = item.partition("=")
            if not sep or not name or not path:
                raise click.BadParameter(f"expected NAME=CSV, got {item!r}", param_hint="--held-out")
            sets[name] = Path(path)
        meta = train(
            train_csv,
            dev_csv,
            out,
            seed,
            text_column or "TEXT",
            label_column,
            negatives_train=negatives[0] if negatives else None,
            negatives_dev=dev_negatives[0] if dev_negatives else None,
            held_out=sets,
            topic_column=topic_column or None,
            augment_train=augment_train,
            augment_dev=augment_dev,
        )
    else:
        if held_out:
            raise click.UsageError("--held-out is for abuse; rumor and ad take --test")
        if augment_train or augment_dev:
            raise click.UsageError("--augment and --augment-dev are for abuse")
        from auditor.category_training import Sources, train_category

        sources = Sources(train_csv, dev_csv, negatives, dev_negatives, test_csv, test_negatives)
        meta = train_category(category, sources, out, seed, text_column or "text", label_column)
    m = meta["dev_metrics"]
    click.echo(
        f"dev: accuracy {m['accuracy']}, precision {m['precision']}, recall {m['recall']}, f1 {m['f1']} "
        f"at threshold {meta['threshold']}"
        + (f" with a cue, {meta['alone_threshold']} alone" if "alone_threshold" in meta else "")
        + f" (C={meta['C']})"
    )
    for key, name in (("dev_false_alarm", "dev negatives"), ("test_false_alarm", "test negatives")):
        if key in meta:
            click.echo(f"{name}: {meta[key]['fired']} of {meta[key]['texts']} flagged")
    if "test_metrics" in meta:
        t = meta["test_metrics"]
        click.echo(f"test: precision {t['precision']}, recall {t['recall']}, f1 {t['f1']}")
    for kind, sets in (("cross-topic", meta.get("cross_topic", {})), ("held out", meta.get("held_out", {}))):
        for name, f in sets.items():
            click.echo(f"{kind} {name}: precision {f['precision']}, recall {f['recall']}, f1 {f['f1']}")
    click.echo(f"wrote {out} and {out.with_suffix('.md')}")


@click.command(name="eval")
@click.option(
    "--labels",
    "labels_csv",
    type=click.Path(dir_okay=False, path_type=Path),
    help="One CSV of texts with 0/1 labels (COLD's dev.csv works as it is).",
)
@click.option("--text-column", default="TEXT", show_default=True, help="With --labels: the text column.")
@click.option("--label-column", default="label", show_default=True, help="With --labels: the label column.")
@click.option(
    "--category",
    "categories",
    multiple=True,
    type=click.Choice(FINDING_CATEGORIES),
    help="Finding categories to measure (repeatable; default abuse with --labels, all with --suite).",
)
@click.option(
    "--suite",
    "suite_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of sets: <category>[-<variant>]/test.csv and conversation/test.csv (all label 0).",
)
@click.option(
    "--set",
    "extra_sets",
    multiple=True,
    metavar="NAME=CSV",
    help="One more labelled set for the suite, e.g. abuse-cold-dev=dev.csv (repeatable).",
)
@click.option(
    "--targets",
    "targets_toml",
    type=click.Path(dir_okay=False, path_type=Path),
    help="TOML of [[target]] set/metric/at_least|at_most: printed next to the measured figures.",
)
@click.option(
    "--worst",
    default=20,
    show_default=True,
    type=click.IntRange(min=0),
    help="How many of the worst conversation false alarms to list.",
)
@click.option(
    "--out",
    "out_json",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the suite's result as JSON to this file.",
)
@json_option
@click.pass_context
def eval_command(
    ctx: click.Context,
    labels_csv: Path | None,
    text_column: str,
    label_column: str,
    categories: tuple[str, ...],
    suite_dir: Path | None,
    extra_sets: tuple[str, ...],
    targets_toml: Path | None,
    worst: int,
    out_json: Path | None,
    as_json: bool,
) -> None:
    """Measure detection quality: precision, recall, F1, and false alarms on real conversation.

    Runs the real detection pipeline (the workspace's settings and dictionaries, if any). With
    --labels, one labelled CSV; with --suite (and/or --set), every labelled set for its own category,
    plus the share of ordinary conversation lines each category flags and the worst of them.

    \b
    Examples:
      auditor eval --labels ../shared/data/cold/dev.csv --category abuse
      auditor eval --labels mine.csv --text-column text --label-column y --category abuse --category profanity
      auditor eval --suite eval/data --set abuse-cold-dev=cold/dev.csv --targets eval/targets.toml
    """
    from auditor.analyzer import Ruleset

    ws = workspace_of(ctx)
    if labels_csv is not None:
        if suite_dir or extra_sets or targets_toml or out_json:
            raise click.UsageError(
                "--labels measures one CSV; --suite, --set, --targets and --out are for suites"
            )
        _eval_labels(ws, labels_csv, text_column, label_column, categories, as_json)
        return
    if suite_dir is None and not extra_sets:
        raise click.UsageError("give --labels CSV, or --suite DIR and/or --set NAME=CSV")
    from auditor import atomic
    from auditor.evaluate import (
        LabelledSet,
        category_of,
        check_targets,
        discover,
        evaluate_suite,
        format_suite,
        read_targets,
    )

    sets, conversation = discover(suite_dir) if suite_dir else ([], None)
    for spec in extra_sets:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise click.BadParameter(f"{spec!r} is not NAME=CSV", param_hint="--set")
        sets.append(LabelledSet(name, category_of(name), Path(path)))
    targets = read_targets(targets_toml) if targets_toml else []
    ruleset = Ruleset(ws.config, ws.dictionaries_dir)
    result = evaluate_suite(ruleset, sets, conversation, categories or FINDING_CATEGORIES, worst)
    result["targets"] = check_targets(result, targets)
    text = json.dumps(result, ensure_ascii=False, indent=2)
    if out_json is not None:
        atomic.write_text(out_json, text + "\n")
    click.echo(text if as_json else format_suite(result).rstrip())


def _eval_labels(
    ws: Workspace,
    labels_csv: Path,
    text_column: str,
    label_column: str,
    categories: tuple[str, ...],
    as_json: bool,
) -> None:
    from auditor.analyzer import Ruleset
    from auditor.evaluate import evaluate
    from auditor.training import read_labelled

    labelled = read_labelled(labels_csv, text_column, label_column)
    result = evaluate(Ruleset(ws.config, ws.dictionaries_dir), labelled, categories or ("abuse",))
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    cm = result["confusion"]
    click.echo(f"categories: {', '.join(result['categories'])}   texts: {result['support']}")
    for key in ("accuracy", "precision", "recall", "f1"):
        click.echo(f"{key:>9}: {result[key]:.4f}")
    click.echo("confusion matrix (rows: label, columns: predicted)")
    click.echo(f"          pred 0  pred 1\n label 0  {cm['tn']:6}  {cm['fp']:6}")
    click.echo(f" label 1  {cm['fn']:6}  {cm['tp']:6}")
