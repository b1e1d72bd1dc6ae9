"""The realism judge: a classifier two-sample test (Lopez-Paz and Oquab, 2017) of completed holes.

Hole L1 and PSNR reward a blur: the mean of the plausible fills is the best guess in squared error
and looks like nothing in a photo. The judge asks what the paper's user study asks, whether a
completion can be told from the photo, without a person and without downloaded weights: a small CNN
is trained from scratch, in the same run, to tell patches of the original photos from the same
patches of the completed images, and is scored on pairs it never trained on. Its accuracy is the
number: 50 % means the completions cannot be told from photos (by this judge), 100 % means every
one gives itself away (a blur, a seam, a colour cast).

How, so that every method is judged the same way:

- Patches: `PATCHES_PER_PAIR` squares of `PATCH` px per (image, hole) pair, centred on hole pixels
  drawn from `default_rng([seed, pair])` (the same places for every method), with the hole as a 4th
  channel, so the judge knows where to look; the real and the completed image of a pair give the
  patches at the same places.
- Cross-fitting by photo: the photos are split in two folds (alternating in sorted order); a judge
  trained on the pairs of one fold's photos scores the pairs of the other's, so no pair is scored
  by a judge that saw its photo.
- Every method gets the same architecture, training steps, batch, seeds and one thread (`JudgeSettings`); each
  fold's verdict is that of an ensemble of judges trained from different seeds, their
  probabilities averaged, because a single judge's own training noise was as large as the
  pairs' sampling noise.
- Repeats: the whole judge (both folds, every member) is trained `repeats` times from other seeds.
  Even an ensemble of four moved a method's accuracy by 0.05-0.1 from one seed to the next, and
  between CPU kinds (whose float kernels round differently: another CPU is another seed), more than
  the pairs' intervals allowed for; with two repeats or more the evaluation's intervals resample
  the repeats as well as the pairs, so that they cover the judge's own noise.
- Every judge network is one job on one thread; the jobs run in `workers` threads at once (one per
  core by default), each giving the same bits as it would alone.
- A pair's score, as the user study's question "which of the two is the photo?": the judge's mean
  probability of "completed" over the pair's patches, for the original and for the completion; the
  judge is right (1) when it gives the completion the higher one, wrong (0) when it gives it the
  lower one, and a tie (a completion equal to the photo) counts half. Asking it pair by pair keeps
  the answer free of how the judge's threshold shifts between photos it trained on and photos it
  did not. The mean over pairs is the accuracy, and it takes the evaluation's bootstrap intervals
  and paired differences like every other metric.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

PATCH = 32  # px, the side of a judged square
PATCHES_PER_PAIR = 8


@dataclass(frozen=True)
class JudgeSettings:
    steps: int = 300  # optimisation steps of each fold's judge
    batch_size: int = 64  # patches per step, half real, half completed
    learning_rate: float = 2e-3
    width: int = 16  # channels of the first layer (doubled twice)
    seed: int = 0
    ensemble: int = 4  # judges trained per fold (seeds apart), their probabilities averaged: one judge's own
    # training noise moved a model's accuracy by 0.03-0.07 (sd over 4 seeds, 100 validation pairs), as much as the pairs do
    repeats: int = 2  # the whole judge trained again from other seeds (repeat r adds REPEAT_SEED_STEP * r to every
    # member's seed; repeat 0 is the judge of earlier versions): the intervals then cover the judge's own noise


REPEAT_SEED_STEP = 100_003
_SEEDING = threading.Lock()


def patch_corners(hole: np.ndarray, rng: np.random.Generator, count: int = PATCHES_PER_PAIR, size: int = PATCH) -> np.ndarray:
    """(count, 2) top-left corners of `size` px squares centred on hole pixels drawn from `rng`,
    shifted inside the image."""
    rows, cols = np.nonzero(hole)
    if rows.size == 0:
        raise ValueError("the judge needs a non-empty hole")
    height, width = hole.shape
    size_y, size_x = min(size, height), min(size, width)
    chosen = rng.integers(0, rows.size, size=count)
    tops = np.clip(rows[chosen] - size_y // 2, 0, height - size_y)
    lefts = np.clip(cols[chosen] - size_x // 2, 0, width - size_x)
    return np.stack([tops, lefts], axis=1)


def cut_patches(image: np.ndarray, hole: np.ndarray, corners: np.ndarray, size: int = PATCH) -> np.ndarray:
    """(count, 4, size, size) float32: RGB in [0, 1] and the hole, at each corner (images smaller
    than `size` are padded with zeros)."""
    stacked = np.concatenate([image.astype(np.float32) / 255, hole[..., None].astype(np.float32)], axis=2)  # (H, W, 4)
    patches = np.zeros((len(corners), size, size, 4), np.float32)
    for index, (top, left) in enumerate(corners):
        piece = stacked[top : top + size, left : left + size]
        patches[index, : piece.shape[0], : piece.shape[1]] = piece
    return patches.transpose(0, 3, 1, 2)


def _network(width: int):
    from torch import nn

    def block(cin, cout, stride):
        return [nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, inplace=True)]

    return nn.Sequential(
        *block(4, width, 1), *block(width, 2 * width, 2), *block(2 * width, 2 * width, 1),
        *block(2 * width, 4 * width, 2), *block(4 * width, 4 * width, 2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * width, 1),
    )


def _train(real: np.ndarray, fake: np.ndarray, settings: JudgeSettings, seed: int):
    """A judge trained to give completed patches (label 1) a high logit and real ones (0) a low one."""
    import torch
    import torch.nn.functional as F

    with _SEEDING:  # the weights' initial values come from torch's global generator: one job at a time
        torch.manual_seed(seed)
        network = _network(settings.width)
    optimizer = torch.optim.Adam(network.parameters(), lr=settings.learning_rate)
    rng = np.random.default_rng([seed, 7])
    real_t, fake_t = torch.from_numpy(real), torch.from_numpy(fake)
    half = settings.batch_size // 2
    labels = torch.cat([torch.zeros(half), torch.ones(half)]).unsqueeze(1)
    network.train()
    for _ in range(settings.steps):
        batch = torch.cat([real_t[rng.integers(0, len(real), half)], fake_t[rng.integers(0, len(fake), half)]])
        if rng.random() < 0.5:  # mirror images: the same for real and completed patches
            batch = batch.flip(-1)
        loss = F.binary_cross_entropy_with_logits(network(batch), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    network.eval()
    return network


def _probabilities(network, patches: np.ndarray, per_pair: int) -> np.ndarray:
    """Each pair's mean probability of 'completed' over its `per_pair` patches: (pairs,)."""
    import torch

    with torch.no_grad():
        logits = torch.cat([network(chunk) for chunk in torch.from_numpy(patches).split(512)]).squeeze(1)
    return torch.sigmoid(logits).view(-1, per_pair).mean(dim=1).numpy()


def pair_patches(image: np.ndarray, hole: np.ndarray, pair: int, seed: int = 0) -> np.ndarray:
    """(PATCHES_PER_PAIR, 4, PATCH, PATCH): the judged patches of pair number `pair`; the places
    depend on (seed, pair) and the hole only, so the original and every completion of a pair are
    cut at the same places."""
    return cut_patches(image, hole, patch_corners(hole, np.random.default_rng([seed, pair])))


def available_cores() -> int:
    """The cores this process may run on."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def judge_values(real: np.ndarray, fake: np.ndarray, photos: list[int], settings: JudgeSettings = JudgeSettings(),
                 workers: int | None = None) -> np.ndarray:
    """Per-pair judge values, (settings.repeats, pairs): 1 right, 0 wrong, 0.5 a tie; a row's mean is
    one repeat's accuracy. `real`, `fake`: (pairs, patches, 4, S, S) from `pair_patches` of the
    originals and of the completions; `photos[i]` names the photo pair i was cut from (folds are
    made of whole photos). Needs pairs from at least two photos (ValueError otherwise).

    Each judge network trains on one thread whatever torch is set to (float sums come out in another
    order with the thread count, which moved a judge's accuracy by a few hundredths between runs);
    `workers` threads (default: one per available core, at most one per network) train them at
    once, with the same results as one."""
    distinct = sorted(set(photos))
    if len(distinct) < 2:
        raise ValueError("the realism judge needs pairs from at least two photos (it scores photos it did not train on)")
    fold_of = {photo: rank % 2 for rank, photo in enumerate(distinct)}
    folds = np.array([fold_of[photo] for photo in photos])
    jobs = [(repeat, fold, member) for repeat in range(settings.repeats) for fold in (0, 1) for member in range(settings.ensemble)]
    shared = {"real": real, "fake": fake, "folds": folds, "settings": settings}
    workers = min(len(jobs), workers or available_cores())
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # each op on the thread that calls it: one job, one core
    try:
        if workers <= 1:
            outcomes = [_job(job, shared) for job in jobs]
        else:
            from concurrent.futures import ThreadPoolExecutor

            # threads, not processes: torch lets go of the GIL inside each op, and nothing is copied or re-imported
            with ThreadPoolExecutor(workers) as pool:
                outcomes = list(pool.map(lambda job: _job(job, shared), jobs))
    finally:
        torch.set_num_threads(threads)
    values = np.zeros((settings.repeats, len(photos)))
    on_real = np.zeros((settings.repeats, 2, len(photos)), np.float32)  # float32, summed member by member: the
    on_fake = np.zeros((settings.repeats, 2, len(photos)), np.float32)  # same sums, bit for bit, as earlier versions
    for (repeat, fold, _), (real_probabilities, fake_probabilities) in zip(jobs, outcomes):
        test = folds == fold
        on_real[repeat, fold, test] += real_probabilities
        on_fake[repeat, fold, test] += fake_probabilities
    for repeat in range(settings.repeats):
        for fold in (0, 1):
            test = folds == fold
            r, f = on_real[repeat, fold, test], on_fake[repeat, fold, test]
            values[repeat, test] = np.where(f > r, 1.0, np.where(f == r, 0.5, 0.0))
    return values


def _job(job: tuple[int, int, int], shared: dict) -> tuple[np.ndarray, np.ndarray]:
    """One judge network: trained on the pairs outside `fold`, then its mean probability of
    'completed' for each pair of `fold`, on the original and on the completion."""
    repeat, fold, member = job
    real, fake, folds, settings = shared["real"], shared["fake"], shared["folds"], shared["settings"]
    flat = lambda array: array.reshape(-1, *array.shape[2:])  # noqa: E731 - (pairs * patches, 4, S, S)
    train, test = folds != fold, folds == fold
    seed = (settings.seed * 2 + fold) * settings.ensemble + member + REPEAT_SEED_STEP * repeat
    network = _train(flat(real[train]), flat(fake[train]), settings, seed=seed)
    return _probabilities(network, flat(real[test]), real.shape[1]), _probabilities(network, flat(fake[test]), fake.shape[1])
