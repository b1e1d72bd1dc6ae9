"""Evaluation: mask protocols, methods (the model and classical baselines), metrics, Table 4 timing."""

from glcic.evaluation.baselines import list_methods, register_method
from glcic.evaluation.evaluate import evaluate
from glcic.evaluation.metrics import list_metrics, register_metric
from glcic.evaluation.protocols import list_protocols, register_protocol

__all__ = ["evaluate", "list_methods", "list_metrics", "list_protocols", "register_method", "register_metric", "register_protocol"]
