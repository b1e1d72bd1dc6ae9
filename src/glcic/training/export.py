"""`glcic export RUN -o MODEL`: a training run's completion network as an inference model file."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from glcic.config import ModelConfig
from glcic.training.checkpoint import load_checkpoint


def export_model(run_dir: str | os.PathLike, output: str | os.PathLike, dtype: torch.dtype = torch.float32) -> ModelConfig:
    """Write the completion network of RUN's last checkpoint, with its mean pixel, training
    resolution, holes and provenance, as a safetensors model file (see glcic.model_file)."""
    from glcic.model_file import save_model
    from glcic.models.completion import CompletionNetwork

    state = load_checkpoint(run_dir)
    config = state["config"]
    network = CompletionNetwork(width=config.width, noise=config.noise)
    network.load_state_dict(state["completion"])
    model_config = model_config_for(config, state["iteration"], state["phase"], state.get("training_images"))
    save_model(output, network, model_config, dtype=dtype)
    return model_config


def model_config_for(config, iteration: int, phase: str, training_images: int | None) -> ModelConfig:
    """The inference config of a completion network trained under `config` up to `iteration`.
    `images_seen` counts the training crops of this run plus those of the model it was fine-tuned
    from, so that progress accumulates over runs."""
    images_seen = iteration * config.batch_size  # per process; times the world size under torchrun (see config.json)
    if config.fine_tune_from and Path(config.fine_tune_from).is_file():
        from glcic.model_file import read_model_file

        notes = read_model_file(config.fine_tune_from)[1].notes
        images_seen += int(notes.get("images_seen") or (notes.get("iteration") or 0) * (notes.get("batch_size") or 0))
    return ModelConfig(
        width=config.width,
        noise=config.noise,
        mean_pixel=config.mean_pixel,
        image_size=config.image_size,
        hole_sampler=config.hole_sampler,
        hole_min=config.hole_min,
        hole_max=config.hole_max,
        notes={
            "trained_with": "glcic train",
            "preset": config.preset,
            "iteration": iteration,
            "images_seen": images_seen,
            "phase": phase,
            "completion_iterations": config.completion_iterations,
            "discriminator_iterations": config.discriminator_iterations,
            "total_iterations": config.total_iterations,
            "discriminators": config.discriminators,
            "alpha": config.alpha,
            "reconstruction_loss": config.reconstruction_loss,
            "optimizer": config.optimizer,
            "learning_rate": config.learning_rate,
            "batch_size": config.batch_size,
            "training_images": training_images,
            "fine_tuned_from": Path(config.fine_tune_from).name if config.fine_tune_from else None,
            "hole_sampler": config.hole_sampler,
            "resize_range": [config.resize_min, config.resize_max],
            "augment": config.augment,
            "joint_phase": {name: getattr(config, name) for name in (
                "discriminator_norm", "discriminator_batch", "discriminator_shift", "discriminator_hole", "discriminator_patches", "discriminator_antialias",
                "freeze_upsampling", "discriminator_learning_rate", "gradient_penalty", "balance_gradients", "balance_ratio", "generator_loss",
                "grid_weight", "grid_tile", "grid_period", "local_box", "feature_matching", "style_weight", "detail_weight", "reconstruction_blur", "frozen_blocks")}
            if config.adversarial and phase == "joint" else None,
        },
    )
