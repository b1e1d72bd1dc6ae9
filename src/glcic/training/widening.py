"""`glcic widen MODEL --width W -o OUT`: the same completion network, with more channels.

Net2WiderNet (Chen, Goodfellow and Shlens, "Net2Net: Accelerating Learning via Knowledge Transfer",
ICLR 2016): each layer's new channels copy randomly chosen old ones (their incoming weights, bias
and batch-norm parameters and statistics), and the next layer's weights on the copies of a channel
share that channel's old weight between them, in random fractions that sum to one. The wider
network then computes the same function (exactly, in eval mode and with batch statistics alike:
copies of a channel have the same statistics), and training goes on from where the narrow model
was instead of from scratch: how progress made on a CPU at half width carries over to the paper's
full width on a GPU. A little noise on the copies' incoming weights (`noise`, relative to each
layer's weight spread) lets the copies drift apart: without it, identical copies get identical
updates from Adam and the new channels never add capacity. The widened model is written as float32.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from glcic.errors import GlcicError
from glcic.models.completion import CompletionNetwork

NOISE = 0.01  # noise on the copies' incoming weights, as a fraction of each layer's weight standard deviation


def _fractions(mapping: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(C_new,) the share of its old channel's outgoing weight each new channel gets (copies of one
    channel share it in random fractions summing to 1)."""
    fractions = np.ones(len(mapping))
    for channel in np.unique(mapping):
        copies = np.flatnonzero(mapping == channel)
        if len(copies) > 1:
            parts = rng.uniform(0.5, 1.5, len(copies))
            fractions[copies] = parts / parts.sum()
    return fractions


@torch.no_grad()
def widen_network(network: CompletionNetwork, width: float, rng: np.random.Generator, noise: float = NOISE) -> CompletionNetwork:
    """A CompletionNetwork of `width` (at least the network's) that computes what `network` does
    (up to `noise`). `rng` chooses the copies, the fractions and the noise."""
    if not width >= network.width:
        raise GlcicError(f"a model can only be widened: its width is {network.width}, asked for {width}")
    if network.noise:
        raise GlcicError("a model with noise layers cannot be widened (its noise filters would need copies too); widen the "
                         "model it was fine-tuned from, then train with --noise")
    wide = CompletionNetwork(width)
    previous, shares = np.arange(4), torch.ones(4)  # the input: RGB + mask, as they are
    for old_block, new_block in zip(network.blocks, wide.blocks):
        (old_conv, old_norm, _), (new_conv, new_norm, _) = old_block, new_block
        transposed = isinstance(old_conv, nn.ConvTranspose2d)
        old_out, new_out = old_norm.num_features, new_norm.num_features
        mapping = np.concatenate([np.arange(old_out), rng.integers(0, old_out, new_out - old_out)])
        weight = old_conv.weight.detach().float()
        if transposed:  # (in, out, k, k)
            weight = (weight[previous] * shares.view(-1, 1, 1, 1))[:, mapping]
        else:  # (out, in, k, k)
            weight = (weight[:, previous] * shares.view(1, -1, 1, 1))[mapping]
        copies = torch.from_numpy(np.arange(new_out) >= old_out)
        if noise > 0 and copies.any():
            scale = noise * float(old_conv.weight.float().std())
            jitter = torch.from_numpy(rng.normal(0.0, scale, weight.shape).astype(np.float32))
            if transposed:
                weight[:, copies] += jitter[:, copies]
            else:
                weight[copies] += jitter[copies]
        new_conv.weight.copy_(weight)
        new_conv.bias.copy_(old_conv.bias.detach().float()[mapping])
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(new_norm, name).copy_(getattr(old_norm, name).detach().float()[mapping])
        new_norm.num_batches_tracked.copy_(old_norm.num_batches_tracked)
        previous, shares = mapping, torch.from_numpy(_fractions(mapping, rng)).float()
    wide.output.weight.copy_(network.output.weight.detach().float()[:, previous] * shares.view(1, -1, 1, 1))
    wide.output.bias.copy_(network.output.bias.detach().float())
    return wide


def widen_model(path: str | os.PathLike, width: float, output: str | os.PathLike, seed: int = 0, noise: float = NOISE):
    """Write `path`'s network widened to `width` as the model file `output`; returns its config."""
    from glcic.model_file import load_network, save_model

    network, config = load_network(path)
    wide = widen_network(network.float().eval(), width, np.random.default_rng(seed), noise)
    notes = {**config.notes, "widened_from": {"model": Path(path).name, "width": config.width, "seed": seed, "noise": noise}}
    config = dataclasses.replace(config, width=width, notes=notes)
    save_model(output, wide, config)
    return config
