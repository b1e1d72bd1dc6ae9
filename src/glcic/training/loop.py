"""The training loop of Algorithm 1: an explicit loop, no trainer framework.

`train()` builds (or resumes) the networks, optimizers and data, then runs the phase of each
iteration (glcic.training.phases) until T_train. It checkpoints every `checkpoint_every`
iterations, at the end, and when the process gets SIGINT or SIGTERM; a loss that becomes NaN or
infinite stops the run without overwriting the last good checkpoint. Under torchrun every process
runs this function; rank 0 alone writes the run folder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from glcic.errors import GlcicError
from glcic.training import distributed
from glcic.training.checkpoint import CHECKPOINT_NAME, load_checkpoint, restore_rng_states, save_checkpoint
from glcic.training.config import TrainConfig
from glcic.training.phases import STEPS, Batch, Networks, phase_at, training_phases, unwrap
from glcic.training.run_folder import RunFolder

# What may change when a run is resumed: how long it runs and how often it reports. Everything else
# would make the resumed run a different experiment.
RESUME_OVERRIDES = ("total_iterations", "completion_iterations", "discriminator_iterations", "checkpoint_every",
                    "sample_every", "snapshot_every", "log_every", "workers")
NOISE_LEARNING_RATE = 10  # the noise filters' learning rate over the rest's (--noise)


class TrainingDiverged(GlcicError):
    """A loss became NaN or infinite."""


@dataclass
class TrainResult:
    iteration: int  # iterations done when train() returned
    stopped_by: str | None  # "SIGINT" / "SIGTERM" / "stop_after", or None when the run finished
    run_dir: Path


class _StopSignals:
    """Turns SIGINT/SIGTERM into a flag checked after each iteration; a second SIGINT aborts at once."""

    def __init__(self):
        self.received: str | None = None
        self._previous = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: leave signals alone
                pass
        return self

    def _handle(self, number, frame):
        if self.received == "SIGINT" and number == signal.SIGINT:
            raise KeyboardInterrupt
        self.received = signal.Signals(number).name

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _ignore_stop_signals(worker_id: int) -> None:
    # Ctrl-C, and a SIGTERM sent to the whole process group (pkill -f, a service manager), reach the
    # data-loader workers too; the main process decides, checkpoints and shuts them down.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def _check_new_run(run_dir: Path) -> None:
    """A new run needs a folder without a checkpoint. A run killed before its first checkpoint left
    only its config and logs: it starts over there (nothing could be resumed)."""
    if run_dir.exists() and not run_dir.is_dir():
        raise GlcicError(f"run folder {run_dir} is a file")
    if (run_dir / CHECKPOINT_NAME).exists():
        raise GlcicError(f"{run_dir} already holds a training run; continue it with --resume {run_dir} or choose a new folder")
    for leftover in ("metrics.jsonl", "discriminator_scores.jsonl", "summary.json"):
        (run_dir / leftover).unlink(missing_ok=True)


def _build_networks(config: TrainConfig, world: distributed.World, state: dict | None) -> Networks:
    from glcic.models.discriminators import ContextDiscriminator, DiscriminatorConfig
    from glcic.models.completion import CompletionNetwork

    torch.manual_seed(config.seed)  # the same initial weights in every process
    completion = CompletionNetwork(width=config.width, noise=config.noise)
    discriminator = None
    if config.adversarial:
        discriminator = ContextDiscriminator.from_config(DiscriminatorConfig(
            config.global_size, config.local_size, config.discriminator_width, config.use_global, config.use_local,
            config.discriminator_norm, config.discriminator_antialias, config.discriminator_hole, config.discriminator_patches,
        ))
    if state is not None:
        completion.load_state_dict(state["completion"])
        if discriminator is not None:
            discriminator.load_state_dict(state["discriminator"])
    elif config.fine_tune_from:
        from glcic.model_file import load_network

        pretrained, model_config = load_network(config.fine_tune_from)
        if round(model_config.width, 6) != round(config.width, 6):
            raise GlcicError(f"--fine-tune model has width {model_config.width}, the config says {config.width}")
        missing, unexpected = completion.load_state_dict(pretrained.state_dict(), strict=False)
        if unexpected or any(not name.startswith("injections.") for name in missing):
            raise GlcicError(f"--fine-tune model does not match the network (missing {missing[:3]}, unexpected {unexpected[:3]}); "
                             "noise layers can be added to a model, not taken away")
    for block in completion.blocks[: config.frozen_blocks]:
        block.requires_grad_(False)  # their batch norm still follows the batches, as in the rest of training
    if config.freeze_upsampling:
        # Each transposed convolution computes the 4 pixels of every 2x2 output block with 4 different
        # kernels; in the joint phase the cheapest way to add "detail" is to set those 4 apart, a grid
        # locked to the pixel phase (docs/adversarial.md). With them fixed, every other layer is
        # translation-equivariant at its own resolution and cannot lock a pattern to the grid.
        for module in completion.modules():
            if isinstance(module, torch.nn.ConvTranspose2d):
                module.requires_grad_(False)
    if world.distributed and config.sync_batchnorm:
        if world.device.type != "cuda":
            raise GlcicError("--sync-batchnorm needs CUDA devices (PyTorch's SyncBatchNorm runs on GPUs only); drop it on CPU")
        completion = torch.nn.SyncBatchNorm.convert_sync_batchnorm(completion)
        if discriminator is not None:
            discriminator = torch.nn.SyncBatchNorm.convert_sync_batchnorm(discriminator)
    memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
    completion.to(world.device, memory_format=memory_format)
    if discriminator is not None:
        discriminator.to(world.device, memory_format=memory_format)

    def optimizer(module, learning_rate):
        # the noise filters start near zero, where their gradient is mostly noise: they learn NOISE_LEARNING_RATE times faster
        noisy = {id(p) for name, p in module.named_parameters() if name.startswith("injections.")}
        groups = [{"params": [p for p in module.parameters() if p.requires_grad and id(p) not in noisy], "lr": learning_rate}]
        if noisy:
            groups.append({"params": [p for p in module.parameters() if id(p) in noisy], "lr": learning_rate * NOISE_LEARNING_RATE})
        if config.optimizer == "adam":
            return torch.optim.Adam(groups, lr=learning_rate, betas=(0.5, 0.999))
        return torch.optim.Adadelta(groups, lr=learning_rate)

    completion_optimizer = optimizer(completion, config.learning_rate)
    discriminator_optimizer = None
    if discriminator is not None:
        discriminator_optimizer = optimizer(discriminator, config.discriminator_learning_rate or config.learning_rate)
    if state is not None:
        completion_optimizer.load_state_dict(state["completion_optimizer"])
        if discriminator_optimizer is not None:
            discriminator_optimizer.load_state_dict(state["discriminator_optimizer"])
    if world.distributed:
        from torch.nn.parallel import DistributedDataParallel

        device_ids = [world.device.index] if world.device.type == "cuda" else None
        completion = DistributedDataParallel(completion, device_ids=device_ids)
        if discriminator is not None:
            discriminator = DistributedDataParallel(discriminator, device_ids=device_ids)
    mean_pixel = torch.tensor(config.mean_pixel, device=world.device).view(1, 3, 1, 1)
    return Networks(completion, discriminator, completion_optimizer, discriminator_optimizer, config, mean_pixel)


def _training_state(networks: Networks, iteration: int, phase: str, extra: dict) -> dict:
    return {
        "config": networks.config.to_dict(),
        "iteration": iteration,
        "phase": phase,
        "completion": unwrap(networks.completion).state_dict(),
        "discriminator": unwrap(networks.discriminator).state_dict() if networks.discriminator is not None else None,
        "completion_optimizer": networks.completion_optimizer.state_dict(),
        "discriminator_optimizer": networks.discriminator_optimizer.state_dict() if networks.discriminator_optimizer else None,
        **extra,
    }


def parameter_digest(module: torch.nn.Module) -> str:
    """SHA-256 of a network's parameters, to check that all processes hold the same weights."""
    digest = hashlib.sha256()
    for name, parameter in unwrap(module).named_parameters():
        digest.update(name.encode())
        digest.update(parameter.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()


def _resolve_mean_pixel(config: TrainConfig, paths, world) -> TrainConfig:
    if config.mean_pixel is not None:
        return config
    if config.fine_tune_from:
        from glcic.model_file import read_model_file

        mean = read_model_file(config.fine_tune_from)[1].mean_pixel  # the network learned this fill
    else:
        from glcic.data import compute_mean_pixel

        mean = compute_mean_pixel(paths) if world.is_main else None
        mean = distributed.broadcast(world, mean)
    return config.replace(mean_pixel=tuple(mean))


def resumed_config(config: TrainConfig, overrides: dict, iteration: int = 0) -> TrainConfig:
    """The config of a resumed run at `iteration`: its own, with only RESUME_OVERRIDES fields
    changed. Phase boundaries (T_C, T_C + T_D) may move only where the run has not reached them, so
    every iteration already done keeps its phase (e.g. a longer phase 1 while still in it)."""
    refused = sorted(set(overrides) - set(RESUME_OVERRIDES))
    if refused:
        raise GlcicError(f"cannot change {refused} when resuming; only {sorted(RESUME_OVERRIDES)}")
    changed = config.replace(**overrides)
    for name, old, new in (
        ("the end of phase 1 (T_C)", config.completion_iterations, changed.completion_iterations),
        ("the end of phase 2 (T_C + T_D)", config.completion_iterations + config.discriminator_iterations,
         changed.completion_iterations + changed.discriminator_iterations),
    ):
        if old != new and min(old, new) < iteration:
            raise GlcicError(f"cannot move {name} from {old} to {new}: the run is at iteration {iteration}, past it")
    return changed


def resolved_run(config: TrainConfig, world_size: int, **found) -> dict:
    """What a run resolves beyond its config: the batch over all processes, the phases, the mean
    pixel, and what the start found (`found`: device, images, skipped files). `glcic train --dry-run`
    prints it; a run writes it into RUN/config.json before its first step."""
    return {
        "world_size": world_size,
        "per_process_batch_size": config.batch_size,
        "global_batch_size": config.batch_size * world_size,
        "phases": [vars(phase) for phase in training_phases(config)],
        "mean_pixel": config.mean_pixel or "computed from the training set at start",
        **found,
    }


def train(
    config: TrainConfig | None,
    run_dir: str | Path,
    *,
    resume: bool = False,
    device: str = "cpu",
    stop_after: int | None = None,
    progress: bool = True,
    overrides: dict | None = None,
) -> TrainResult:
    """Train into `run_dir` (new), or continue the run there with `resume=True` (then `config` is
    read from its checkpoint and `overrides` may change the RESUME_OVERRIDES fields).
    `stop_after`: checkpoint and return after this many iterations of this call."""
    from glcic.data import scan_images

    run_dir = Path(run_dir)
    world = distributed.join(device)
    try:
        state = None
        if resume:
            state = load_checkpoint(run_dir)
            config = resumed_config(state["config"], overrides or {}, state["iteration"])
        else:
            _check_new_run(run_dir)
        if not config.data or not Path(config.data).is_dir():
            raise GlcicError(f"training data folder not found: {config.data!r}")
        paths, skipped_files = scan_images(config.data, min_side=config.image_size // 2)
        if len(paths) < config.batch_size * world.size:
            raise GlcicError(
                f"{config.data} has {len(paths)} usable images; a batch of {config.batch_size} on "
                f"{world.size} process(es) needs at least {config.batch_size * world.size}"
            )
        config = _resolve_mean_pixel(config, paths, world)
        if config.precision == "auto":
            from glcic.devices import resolve_precision

            config = config.replace(precision=resolve_precision("auto", world.device))
        networks = _build_networks(config, world, state)
        iteration = state["iteration"] if state else 0
        run = RunFolder(run_dir, enabled=world.is_main)
        run.remove_orphaned_temporaries()  # from a process killed while writing
        if resume:
            run.trim_metrics(iteration)  # records logged after the checkpoint are about to be logged again
        resolved = resolved_run(config, world.size, device=str(world.device), training_images=len(paths),
                                skipped_files={reason: len(files) for reason, files in skipped_files.items()}, torch=torch.__version__)
        run.write_config(config.to_dict(), resolved)  # before the first step
        run.log(("resumed at iteration %d" % iteration) if resume else "started")
        for reason, files in skipped_files.items():
            for file in files:
                run.log(f"skipped {reason} image: {file}")
        if state is not None:  # last: building the networks seeds torch's generator afresh
            restore_rng_states(state["rng"])
        return _loop(config, networks, world, run, paths, iteration, stop_after, progress, state)
    finally:
        distributed.leave(world)


@dataclass
class _Tally:
    """What the loop keeps count of between iterations, and carries over in the checkpoint."""

    skipped_images: int  # images that failed to decode and were replaced by others
    last_checkpoint: int | None  # the iteration of the checkpoint on disk
    training_images: int
    phase_name: str | None = None
    first_batch_indices: list | None = None
    stopped_by: str | None = None
    window_start: float = dataclasses.field(default_factory=time.perf_counter)  # of the images/s measurement
    window_iterations: int = 0

    def extra(self) -> dict:
        return {"skipped_images": self.skipped_images, "training_images": self.training_images}


def _loop(config: TrainConfig, networks: Networks, world: distributed.World, run: RunFolder, paths: list[Path],
          iteration: int, stop_after: int | None, progress: bool, state: dict | None) -> TrainResult:
    """Algorithm 1 from `iteration` to T_train: each iteration draws a batch and runs the step of
    its phase (train C, train D, or both); then checks, logs, samples and checkpoints."""
    from tqdm import tqdm

    loader, sampler, batches_per_epoch = _data_loader(config, paths, world)
    validation = _validation_images(config, paths, world, run)
    phases = training_phases(config)
    tally = _Tally(state.get("skipped_images", 0) if state else 0, state["iteration"] if state else None, len(paths))
    start_iteration, started = iteration, time.perf_counter()
    bar = tqdm(total=config.total_iterations, initial=iteration, unit="it", dynamic_ncols=True,
               disable=not (world.is_main and progress) or None)
    with _StopSignals() as signals:
        while iteration < config.total_iterations and tally.stopped_by is None:
            epoch, offset = divmod(iteration, batches_per_epoch)
            sampler.set_position(epoch, offset * config.batch_size)
            for sample in loader:
                phase = phase_at(phases, iteration)
                _enter_phase(phase, iteration, tally, run, bar)
                losses = STEPS[phase.name](networks, Batch.from_loader(sample, world.device, config.channels_last), world.device)
                iteration += 1
                _count_batch(sample, iteration, tally, world, run)
                bar.update(1)
                stop_requested = _stop_if_diverged(losses, networks, world, signals, run, iteration, phase, tally)
                _report(config, networks, world, run, bar, validation, iteration, phase, losses, tally)
                if stop_requested:
                    tally.stopped_by = signals.received or "another process"
                elif stop_after is not None and iteration - start_iteration >= stop_after:
                    tally.stopped_by = "stop_after"
                _save(config, networks, world, run, iteration, phase, tally)
                if tally.stopped_by or iteration >= config.total_iterations:
                    break
            # the epoch ended (or a stop was requested): the while loop starts the next epoch
    bar.close()
    return _finish(networks, world, run, iteration, start_iteration, started, tally)


def _data_loader(config: TrainConfig, paths: list[Path], world: distributed.World):
    """The training batches, from a sampler that can start anywhere in an epoch (exact resume)."""
    from glcic.data import EpochSampler, TrainingImages

    dataset = TrainingImages(paths, config.data_config(), seed=config.seed)
    sampler = EpochSampler(dataset, world.size, world.rank, config.seed)
    loader = DataLoader(
        dataset, batch_size=config.batch_size, sampler=sampler, num_workers=config.workers, drop_last=True,
        persistent_workers=config.workers > 0, worker_init_fn=_ignore_stop_signals, pin_memory=world.device.type == "cuda",
        generator=torch.Generator().manual_seed(config.seed),  # its own: starting an epoch must not draw from torch's
        # global generator, which the discriminators' random shifts use and checkpoints keep
    )
    return loader, sampler, sampler.num_samples // config.batch_size


def _validation_images(config: TrainConfig, paths: list[Path], world: distributed.World, run: RunFolder) -> dict:
    """The fixed crops and holes of the sample sheets and the discriminators' validation scores."""
    from glcic.data import validation_batch
    from glcic.image_io import list_images

    if not (world.is_main and config.sample_count):
        return {}
    validation_paths = list_images(config.validation_data, recursive=True) if config.validation_data else paths
    validation = validation_batch(validation_paths, config.data_config(), config.sample_count, config.seed)
    if not validation:
        run.log(f"no validation image could be read from {config.validation_data or config.data}: no sample sheets "
                "or discriminator scores will be written")
    return validation


def _enter_phase(phase, iteration: int, tally: _Tally, run: RunFolder, bar) -> None:
    if phase.name != tally.phase_name:
        run.log(f"iteration {iteration}: phase {phase.name} (until iteration {phase.end})")
        tally.phase_name = phase.name
        bar.set_description(phase.name)


def _count_batch(sample: dict, iteration: int, tally: _Tally, world: distributed.World, run: RunFolder) -> None:
    """The first batch's images (by rank, logged once) and the images that failed to decode."""
    if tally.first_batch_indices is None:
        tally.first_batch_indices = distributed.gather(world, sample["index"].tolist())
        run.log(f"first batch's image indices by rank: {tally.first_batch_indices}")
    skipped = int(sample["skipped"].sum())
    if skipped:
        run.log(f"iteration {iteration}: {skipped} image(s) failed to decode and were replaced")
    tally.skipped_images += skipped
    tally.window_iterations += 1


def _stop_if_diverged(losses: dict, networks: Networks, world: distributed.World, signals: _StopSignals, run: RunFolder,
                      iteration: int, phase, tally: _Tally) -> bool:
    """Raise TrainingDiverged, writing nothing, when a loss or a weight is no longer finite on any
    rank; otherwise whether any rank was asked to stop (all ranks agree on both)."""
    nonfinite = not all(math.isfinite(v) for v in losses.values()) or not _weights_finite(networks)
    stop_requested, nonfinite = distributed.any_rank(world, signals.received is not None, nonfinite)
    if nonfinite:
        message = (
            f"a loss or a weight became NaN or infinite (or a weight too large) at iteration {iteration} ({phase.name} phase: "
            f"{', '.join(f'{k}={v:.4g}' for k, v in losses.items())}); stopped without saving. "
            + (f"The last good checkpoint (iteration {tally.last_checkpoint}) is kept in {run.path / CHECKPOINT_NAME}. "
               if tally.last_checkpoint is not None else "No checkpoint had been written yet. ")
            + "Try a lower learning rate, --balance-gradients, or fp32."
        )
        run.log(message)
        raise TrainingDiverged(message)
    return stop_requested


def _report(config: TrainConfig, networks: Networks, world: distributed.World, run: RunFolder, bar, validation: dict,
            iteration: int, phase, losses: dict, tally: _Tally) -> None:
    """Every `log_every` iterations the losses and speed; every `sample_every` the sample sheet and
    the discriminators' validation scores."""
    last = iteration == config.total_iterations
    if iteration % config.log_every == 0 or last:
        elapsed = time.perf_counter() - tally.window_start
        speed = tally.window_iterations * config.batch_size * world.size / max(elapsed, 1e-9)
        run.metrics(iteration, phase.name, {**losses, "images_per_second": round(speed, 3), "skipped_images": tally.skipped_images})
        bar.set_postfix({k: f"{v:.4g}" for k, v in losses.items()}, refresh=False)
        tally.window_start, tally.window_iterations = time.perf_counter(), 0
    if validation and (iteration % config.sample_every == 0 or last):
        scores = _write_samples(run, networks, validation, iteration, world.device)
        if scores:
            run.metrics(iteration, phase.name, scores, file="discriminator_scores.jsonl")


def _save(config: TrainConfig, networks: Networks, world: distributed.World, run: RunFolder, iteration: int, phase,
          tally: _Tally) -> None:
    """The checkpoint every `checkpoint_every` iterations, at the end and on a stop; snapshots every `snapshot_every`."""
    if iteration % config.checkpoint_every == 0 or iteration == config.total_iterations or tally.stopped_by:
        if world.is_main:
            save_checkpoint(run.path, _training_state(networks, iteration, phase.name, tally.extra()))
        tally.last_checkpoint = iteration
        run.flush()
    if config.snapshot_every and iteration % config.snapshot_every == 0 and world.is_main:
        _write_snapshot(run, networks, iteration, phase.name, tally.training_images)


def _finish(networks: Networks, world: distributed.World, run: RunFolder, iteration: int, start_iteration: int,
            started: float, tally: _Tally) -> TrainResult:
    """RUN/summary.json, with every rank's parameter digest (they agree under DDP), and the last log line."""
    digests = distributed.gather(world, [parameter_digest(networks.completion)]
                                 + ([parameter_digest(networks.discriminator)] if networks.discriminator is not None else []))
    summary = {
        "iteration": iteration,
        "stopped_by": tally.stopped_by,
        "seconds": round(time.perf_counter() - started, 3),
        "iterations_this_call": iteration - start_iteration,
        "skipped_images": tally.skipped_images,
        "first_batch_indices_by_rank": tally.first_batch_indices,
        "ranks_agree": all(d == digests[0] for d in digests),
        "parameter_digests_by_rank": digests,
    }
    if world.is_main:
        import json

        from glcic.utils import write_atomic

        write_atomic(run.path / "summary.json", (json.dumps(summary, indent=2) + "\n").encode())
        run.log(f"stopped at iteration {iteration} by {tally.stopped_by}; resume with: glcic train --resume {run.path}"
                if tally.stopped_by else f"finished at iteration {iteration}")
    run.close()
    return TrainResult(iteration, tally.stopped_by, run.path)


def _weights_finite(networks: Networks) -> bool:
    """Whether both networks' weights and batch-norm statistics are finite, and the completion
    network's within what a model file may hold (glcic.model_file.check_tensors, which names the
    culprits when a file is written). Checked after each step with one reduction per network, so
    that no checkpoint, snapshot or export ever holds a diverged network."""
    from glcic.model_file import MAX_WEIGHT

    def largest(module) -> float:  # NaN when any value is NaN
        values = [t.detach().abs().max() for t in unwrap(module).state_dict().values() if t.is_floating_point() and t.numel()]
        return float(torch.stack(values).max())

    if networks.discriminator is not None and not math.isfinite(largest(networks.discriminator)):
        return False
    completion = unwrap(networks.completion).state_dict()
    negative_variance = any(bool((t < 0).any()) for name, t in completion.items() if name.endswith("running_var"))
    return largest(networks.completion) <= MAX_WEIGHT and not negative_variance  # NaN <= x is False


def _write_snapshot(run: RunFolder, networks: Networks, iteration: int, phase: str, training_images: int) -> None:
    """RUN/snapshots/iteration_NNNNNNN.safetensors: the completion network now, as a model file."""
    from glcic.model_file import save_model
    from glcic.training.export import model_config_for

    folder = run.path / "snapshots"
    folder.mkdir(exist_ok=True)
    model_config = model_config_for(networks.config, iteration, phase, training_images)
    save_model(folder / f"iteration_{iteration:07d}.safetensors", unwrap(networks.completion), model_config)


@torch.no_grad()
def _write_samples(run: RunFolder, networks: Networks, validation: dict, iteration: int, device) -> dict[str, float]:
    """The sample sheet of the fixed validation images; with discriminators, also their mean
    scores (probability of real) on those images and on their completions, in eval mode: a
    discriminator that overfits the training photos scores held-out real photos low."""
    from glcic.masks import hole_box, local_patch_box
    from glcic.models.completion import composite, network_input, noise_maps
    from glcic.training.phases import discriminator_logits, paired_accuracy

    completion = unwrap(networks.completion)
    completion.eval()  # what the exported model will do: running batch-norm statistics
    image = validation["image"].to(device).float() / 255  # (N, 3, S, S)
    hole = validation["hole"].to(device).float()  # (N, 1, S, S)
    noise = noise_maps(completion.noise, *hole[:, 0].shape, torch.Generator().manual_seed(0))  # the same noise on every sheet
    noise = None if noise is None else noise.to(device)
    output = completion(network_input(image, hole, networks.mean_pixel, noise)).float()
    completed = composite(image, output, hole)
    run.sample_sheet(iteration, image, hole, completed)
    completion.train()
    if networks.discriminator is None:
        return {}
    config, discriminator = networks.config, unwrap(networks.discriminator)
    size = image.shape[-1]
    corners = [local_patch_box(hole_box(h[0].bool().cpu().numpy()), config.local_size, size, size)[:2] for h in hole]
    discriminator.eval()
    real = discriminator_logits(discriminator, image, corners, config, shift=False, hole=hole).float()
    fake = discriminator_logits(discriminator, completed, corners, config, shift=False, hole=hole).float()
    discriminator.train()
    # the same boxes for both, so only the hole's content differs; paired: the share of photos scored above their completion
    return {"validation_real_score": round(torch.sigmoid(real).mean().item(), 5), "validation_fake_score": round(torch.sigmoid(fake).mean().item(), 5),
            "validation_paired_accuracy": round(paired_accuracy(real, fake), 5)}
