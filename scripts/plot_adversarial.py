"""Curves of the joint phase: the context discriminators' scores on training batches and on the
fixed validation images, for several runs side by side.

    python scripts/plot_adversarial.py RUN [RUN ...] -o docs/adversarial_scores.png

Training scores come from RUN/metrics.jsonl (`real_score`, `fake_score`: the mean probability of
"real" the discriminators give the batch's real images and its completions, in training mode);
validation scores from RUN/discriminator_scores.jsonl (the same on the fixed validation images,
in eval mode). A discriminator that tells training batches apart but not held-out photos is
overfitting, or reading batch statistics. Runs that log it (2026-12-03 on) also get the paired
accuracy (green): the share of photos the discriminators score above their own completion, the
realism judge's question.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def records(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def main() -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="+")
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--smooth", type=int, default=10, help="moving average over this many training records")
    args = parser.parse_args()
    figure, axes = plt.subplots(1, len(args.runs), figsize=(4.2 * len(args.runs), 3.4), sharey=True, squeeze=False)
    for axis, run in zip(axes[0], args.runs):
        rows = records(run / "metrics.jsonl")
        train = [r for r in rows if "real_score" in r]
        validation = [r for r in rows + records(run / "discriminator_scores.jsonl") if "validation_real_score" in r]
        for key, colour, label in (("real_score", "C0", "real, training batch"), ("fake_score", "C3", "completed, training batch"),
                                   ("paired_accuracy", "C2", "paired accuracy, training batch")):
            if not all(key in r for r in train):
                continue
            values = [r[key] for r in train]
            smooth = [sum(values[max(0, i - args.smooth + 1): i + 1]) / len(values[max(0, i - args.smooth + 1): i + 1]) for i in range(len(values))]
            axis.plot([r["iteration"] for r in train], smooth, color=colour, alpha=0.6, label=label)
        for key, colour, label in (("validation_real_score", "C0", "real, validation"), ("validation_fake_score", "C3", "completed, validation"),
                                   ("validation_paired_accuracy", "C2", "paired accuracy, validation")):
            if not validation or not all(key in r for r in validation):
                continue
            axis.plot([r["iteration"] for r in validation], [r[key] for r in validation], color=colour, marker="o", linestyle="--", label=label)
        axis.set(title=run.name, xlabel="iteration", ylim=(0, 1))
        axis.grid(alpha=0.3)
    axes[0][0].set_ylabel("discriminator's P(real); paired accuracy")
    axes[0][-1].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(args.output, dpi=100)
    return 0


if __name__ == "__main__":
    sys.exit(main())
