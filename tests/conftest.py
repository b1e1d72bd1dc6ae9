"""Shared fixtures: a tiny completion model saved as a real model file, and real images made here."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
import torch

from glcic.config import ModelConfig
from glcic.model_file import save_model
from glcic.models.completion import CompletionNetwork

TINY_WIDTH = 0.125  # 8-channel first layer: the real architecture, fast on a CPU


def tiny_network(seed: int = 0) -> CompletionNetwork:
    """A tiny-width network with random weights and non-trivial batch-norm statistics."""
    torch.manual_seed(seed)
    network = CompletionNetwork(width=TINY_WIDTH)
    with torch.no_grad():
        for module in network.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.1, 0.1)
    return network.eval()


@pytest.fixture(scope="session")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "tiny.safetensors"
    save_model(path, tiny_network(), ModelConfig(width=TINY_WIDTH, mean_pixel=(0.45, 0.42, 0.39)))
    return path


@pytest.fixture(scope="session")
def model(model_path):
    from glcic.inference.model import load_model

    return load_model(model_path)


@pytest.fixture(scope="session")
def bundled():
    """The bundled model: trained weights, where random ones would hide errors (margins, mirrors)."""
    import glcic

    return glcic.load_model()


def scene(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A photo-like uint8 RGB image: sky/ground gradients, shapes, texture and sensor noise."""
    import cv2

    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.empty((height, width, 3), np.float32)
    horizon = height * 0.55
    sky = rows < horizon
    image[sky] = np.stack([0.45 + 0.3 * rows / height, 0.6 + 0.2 * rows / height, np.full_like(rows, 0.9)], -1)[sky]
    ground = ~sky
    texture = 0.08 * np.sin(cols / 3.0) * np.cos(rows / 4.0)
    image[ground] = np.stack([0.35 + texture, 0.5 + texture, 0.2 + 0.5 * texture], -1)[ground]
    for _ in range(4):
        center = (int(rng.integers(0, width)), int(rng.integers(0, height)))
        radius = int(rng.integers(max(2, min(height, width) // 12), max(3, min(height, width) // 5)))
        cv2.circle(image, center, radius, tuple(float(v) for v in rng.uniform(0, 1, 3)), -1)
    image += rng.normal(0, 0.02, image.shape).astype(np.float32)
    return np.clip(image * 255, 0, 255).astype(np.uint8)


@pytest.fixture
def photo():
    return scene(96, 128)


def box_mask(height: int, width: int, *boxes: tuple[int, int, int, int]) -> np.ndarray:
    """Boolean mask with the (top, left, height, width) boxes set."""
    mask = np.zeros((height, width), bool)
    for top, left, box_height, box_width in boxes:
        mask[top : top + box_height, left : left + box_width] = True
    return mask


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(model_path, *extra) -> tuple[subprocess.Popen, str]:
    """`glcic serve` with `model_path` (None: no --model, so both bundled models)."""
    port = free_port()
    model = [] if model_path is None else ["--model", str(model_path)]
    process = subprocess.Popen([sys.executable, "-m", "glcic", "serve", "--port", str(port), *model, *extra],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"glcic serve exited: {process.stdout.read()}")
        try:
            urllib.request.urlopen(url + "api/health", timeout=1).read()
            return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("glcic serve did not answer within 60 s")
