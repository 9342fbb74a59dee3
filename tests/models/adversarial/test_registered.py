"""The registered GANs through the trainer: one epoch each with the registry's player
settings, --lr reaching both players, samples of the data's shape and range, and a
checkpoint that loads back to the same samples."""

from pathlib import Path

import numpy as np
import pytest

from minigen.checkpoint import load_model
from minigen.models.base import TrainsItself
from minigen.models.registry import get_spec
from minigen.train import train

NAMES = ["gan", "dcgan", "cgan", "infogan"]


@pytest.mark.parametrize("name", NAMES)
def test_registered_gan_trains_one_epoch_and_reloads(name: str, tmp_path: Path) -> None:
    spec = get_spec(name)
    result = train(spec, epochs=1, lr=spec.lr / 2, seed=0, progress=False,
                   out_dir=tmp_path / name)
    model = result.model
    assert isinstance(model, TrainsItself) and spec.data == "digits-signed"
    for player, optimizer in model.optimizers().items():
        assert optimizer.lr == pytest.approx(spec.lr / 2 * spec.players[player].lr_scale)
        assert optimizer.betas == spec.players[player].betas and optimizer.betas[0] == 0.5
    conditions = {"y": np.arange(12) % 10} if "y" in model.conditions else {}
    samples = model.sample(12, np.random.default_rng(0), **conditions)
    assert samples.shape == (12, 1, 8, 8)
    assert samples.min() >= -1 and samples.max() <= 1 and np.all(np.isfinite(samples))
    loaded, _, _ = load_model(tmp_path / name)
    again = loaded.sample(12, np.random.default_rng(0), **conditions)
    np.testing.assert_allclose(again, model.sample(12, np.random.default_rng(0), **conditions),
                               rtol=1e-6, atol=1e-6)
