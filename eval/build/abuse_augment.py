"""Build the abuse model's augmentation set: insults and toxicity beyond COLD's three topics.

Usage: python eval/build/abuse_augment.py --xsafety REPO --rtplx REPO [--out eval/data/abuse-augment]

COLD's offensive texts are about region, race and gender, so a model trained on it alone learns those
topics and misses the general flaming of chat (second person and a put-down, curses, dismissals).
Two permissively licensed sources add such texts (train and dev only; never a test set):

- **XSafety** (github.com/Jarviswang94/Multilingual_safety_benchmark, Apache-2.0), ``zh/Insult.csv``:
  199 Chinese insult prompts, taken from thu-coai/Safety-Prompts' 脏话侮辱 (Insult) scenario
  (Apache-2.0). Label 1.
- **RTP-LX** (github.com/microsoft/RTP-LX, MIT; the English originals are RealToxicityPrompts,
  Apache-2.0): the simplified- and traditional-Chinese prompts, human-transcreated web sentences
  with a toxicity score from three native annotators (1 = not toxic … 5 = extremely), read from
  ``scoring/gpt4_results/gpt4_results_ZH-Hans.json`` and ``…ZH-Hant.json`` (the human annotations,
  not GPT-4's). Mean toxicity ≥ 2.5 → label 1; < 1.5 → label 0; in between is left out as
  undecided.

Split: 80 % train, 20 % dev, by a hash of the source item (an RTP-LX prompt's original web
passage, so its two Chinese versions stay together; an XSafety line's text). The CSVs are not
committed: RTP-LX's authors keep their entries out of crawlers' reach (a password-protected zip),
so this script rebuilds them from the snapshots.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from common import assemble, git_blob, split_of, write_splits

XSAFETY_INSULT = "zh/Insult.csv"
RTPLX_LOCALES = ("ZH-Hans", "ZH-Hant")
TOXIC_FROM, CLEAN_BELOW = 2.5, 1.5
DEV_SHARE = 20


def xsafety_rows(repo: Path) -> list[tuple[str, str, str, int]]:
    lines = git_blob(repo, XSAFETY_INSULT).decode("utf-8-sig").splitlines()
    texts = [line.strip() for line in lines if line.strip()]
    return [(split_of(f"xsafety:{t}", 0, DEV_SHARE), t, "xsafety-insult", 1) for t in texts]


def rtplx_rows(repo: Path) -> list[tuple[str, str, str, int]]:
    rows = []
    for locale in RTPLX_LOCALES:
        blob = git_blob(repo, f"scoring/gpt4_results/gpt4_results_{locale}.json").decode("utf-8")
        for line in blob.splitlines():
            if not line.strip():
                continue
            entry = json.loads(line)["OriginalEntry"]
            toxicity = float(entry["Annotations"]["Toxicity"])
            if CLEAN_BELOW <= toxicity < TOXIC_FROM:
                continue
            origin = entry.get("OriginalMetadata") or {}
            key = (
                f"rtplx:{origin['Filename']}:{origin.get('Begin')}:{origin.get('End')}"
                if origin.get("Filename")
                else f"rtplx:{locale}:{entry['Index']}"
            )
            label = int(toxicity >= TOXIC_FROM)
            rows.append((split_of(key, 0, DEV_SHARE), entry["Prompt"], f"rtplx-{locale.lower()}", label))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xsafety", type=Path, required=True)
    parser.add_argument("--rtplx", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path(__file__).parents[1] / "data" / "abuse-augment")
    args = parser.parse_args()
    splits = assemble(xsafety_rows(args.xsafety) + rtplx_rows(args.rtplx))
    write_splits(args.out, {"train": splits["train"], "dev": splits["dev"]})


if __name__ == "__main__":
    main()
