"""Training (Algorithm 1): config and presets, phases, checkpoints, the loop, export to a model file."""

import importlib

from glcic.training.config import PRESETS, TrainConfig, list_presets, preset

_LAZY = {"export_model": "glcic.training.export", "TrainingDiverged": "glcic.training.loop",
         "TrainResult": "glcic.training.loop", "train": "glcic.training.loop"}  # these load torch: imported on first use


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'glcic.training' has no attribute {name!r}")


__all__ = ["PRESETS", "TrainConfig", "TrainResult", "TrainingDiverged", "export_model", "list_presets", "preset", "train"]
