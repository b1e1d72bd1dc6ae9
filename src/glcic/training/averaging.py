"""`glcic average SNAPSHOT... -o MODEL`: the mean of several model files' weights.

Stochastic weight averaging (Izmailov et al., "Averaging Weights Leads to Wider Optima and Better
Generalization", 2018): snapshots taken along the flat end of a training run, at a small constant
learning rate, wander around a minimum; their mean lies nearer its centre than any one of them.
Batch norm's running statistics are averaged too (the snapshots are close, so their statistics
are); a step counter takes the last snapshot's value. The snapshots must share one architecture.
Whether the average is better is measured like any checkpoint: on the validation photos
(`scripts/validate_snapshots.py --extra MODEL`).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import torch

from glcic.config import ModelConfig
from glcic.errors import GlcicError


def average_models(paths: list[str | os.PathLike], output: str | os.PathLike, dtype: torch.dtype = torch.float32) -> ModelConfig:
    """Write the mean of the model files `paths` (their order does not matter but for the step
    counters and the notes, which come from the last) to `output`; returns its config."""
    from glcic.model_file import load_network, save_model
    from glcic.models.completion import CompletionNetwork

    if len(paths) < 2:
        raise GlcicError("averaging needs at least two model files")
    networks, configs = zip(*(load_network(path) for path in paths))
    widths = {config.width for config in configs}
    if len(widths) > 1:
        raise GlcicError(f"the model files have different widths ({sorted(widths)}); only one architecture can be averaged")
    states = [network.state_dict() for network in networks]
    mean = {name: (torch.stack([state[name] for state in states]).mean(dim=0) if tensor.is_floating_point() else states[-1][name])
            for name, tensor in states[-1].items()}
    network = CompletionNetwork(width=configs[-1].width)
    network.load_state_dict(mean)
    notes = {**configs[-1].notes, "averaged_from": [Path(path).name for path in paths]}
    config = dataclasses.replace(configs[-1], notes=notes)
    save_model(output, network, config, dtype=dtype)
    return config
