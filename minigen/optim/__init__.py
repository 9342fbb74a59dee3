"""Optimisers, gradient clipping and learning-rate schedules, with torch.optim's formulas."""

from .adam import Adam, AdamW
from .clip import clip_grad_norm_
from .lr_scheduler import CosineAnnealingLR, LinearWarmup, LRScheduler, StepLR
from .optimizer import Optimizer
from .sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "CosineAnnealingLR", "LRScheduler", "LinearWarmup",
           "Optimizer", "StepLR", "clip_grad_norm_"]
