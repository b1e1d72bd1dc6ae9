"""Training (Algorithm 1): config and presets, phases, checkpoints, the loop, export to a model file."""

from glcic.training.config import PRESETS, TrainConfig, list_presets, preset
from glcic.training.export import export_model
from glcic.training.loop import TrainingDiverged, TrainResult, train

__all__ = ["PRESETS", "TrainConfig", "TrainResult", "TrainingDiverged", "export_model", "list_presets", "preset", "train"]
