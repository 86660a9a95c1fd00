"""Tiny classification data and models for the compression tests in tests/train
(three Gaussian blobs in [0, 1]^d and a d-h-k ReLU MLP), built in a second."""
from __future__ import annotations

import numpy as np
import torch


def blobs(n: int = 96, d: int = 8, k: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = rng.uniform(0, 1, (k, d)).astype(np.float32)
    y = rng.integers(0, k, n)
    return np.clip(centers[y] + rng.normal(0, 0.05, (n, d)), 0, 1).astype(np.float32), y


def mlp(seed: int = 0, d: int = 8, h: int = 16, k: int = 3) -> torch.nn.Sequential:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(d, h), torch.nn.ReLU(), torch.nn.Linear(h, k))
