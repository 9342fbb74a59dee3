"""The stacked autoencoder, trained greedily one layer at a time, then end to end.

Bengio, Lamblin, Popovici & Larochelle (2007), "Greedy Layer-Wise Training of Deep
Networks"; Hinton & Salakhutdinov (2006) for the fine-tuned deep autoencoder. With
widths D = n₀ > n₁ > … > n_K, encoder layers h_k = σ(W_k h_{k−1} + b_k) (h₀ = x) and
decoder layers ĥ_{k−1} = σ(V_k h_k + b′_k) (logits, without σ, for the last one):

    stage k = 1..K (greedy):  min_{W_k, b_k, V_k, b′_k}  E_x ℓ(h_{k−1}, ĥ_{k−1})
                              with h_{k−1} computed by the frozen layers below;
    fine-tuning:              min_{all}  E_x ℓ(x, σ(V₁ σ(… σ(V_K h_K …)))).

Each stage is a one-hidden-layer autoencoder of the representation below it, so every
layer starts from weights that already describe its input before the deep network is
trained as a whole. With ``tied=True`` the decoder uses the encoder's matrix transposed,
V_k = W_kᵀ: one Parameter per layer (see :class:`minigen.nn.tied.TiedLinear`).

Schedule (hyper-parameters): ``train_step`` counts its calls; the first
``pretrain_steps[0]`` calls train stage 1, the next ``pretrain_steps[1]`` stage 2, …,
and every call after the K stages fine-tunes end to end. An int means the same number
for every stage. The counter is a buffer, so a checkpoint resumes in the right stage.

Deviation: one Adam optimiser over all parameters (a parameter without gradient in a
stage is skipped), instead of SGD per stage; ℓ is the same reconstruction loss ("mse",
"mae" or "bce") at every stage, applied to sigmoid activations in (0, 1) for the inner
stages. Not a generative model (``sample`` raises), like :class:`Autoencoder`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import autograd as ag
from autograd import Tensor
from minigen.checks import check_choice
from minigen.models.base import Encoder, ReportsMetrics, TrainsItself
from minigen.nn import Linear, Parameter, Sequential
from minigen.nn.losses import RECONSTRUCTION_LOSSES
from minigen.nn.tied import TiedLinear

from .autoencoder import AutoencoderReadout


class StackedAutoencoder(AutoencoderReadout, TrainsItself, Encoder, ReportsMetrics):
    """A deep sigmoid autoencoder with greedy layer-wise pretraining.

    Parameters
    ----------
    data_shape : one example's shape, flattened to D inputs
    rng : draws the initial weights
    hidden : widths n₁, …, n_K of the encoder layers; n_K is the code size
    tied : decode with the transposed encoder weights (one Parameter per layer)
    loss : "mse", "mae" or "bce" (``minigen.nn.losses.RECONSTRUCTION_LOSSES``)
    pretrain_steps : train_step calls per greedy stage (int, or one per stage)
    """

    generative = False  # codes and reconstructions, no distribution to sample

    def __init__(
        self,
        data_shape: tuple[int, ...],
        *,
        rng: np.random.Generator,
        hidden: tuple[int, ...] = (128, 64, 16),
        tied: bool = False,
        loss: str = "mse",
        pretrain_steps: int | tuple[int, ...] = 300,
    ) -> None:
        super().__init__()
        check_choice("loss", loss, tuple(RECONSTRUCTION_LOSSES))
        self.reconstruction_loss = RECONSTRUCTION_LOSSES[loss]
        if not hidden:
            raise ValueError("StackedAutoencoder: hidden must list at least one layer width")
        self.data_shape, self.hidden = tuple(data_shape), tuple(int(h) for h in hidden)
        steps = (pretrain_steps,) * len(hidden) if np.isscalar(pretrain_steps) \
            else tuple(pretrain_steps)
        if len(steps) != len(hidden) or min(steps) < 0:
            raise ValueError(f"pretrain_steps must be an int >= 0 or one per layer "
                             f"({len(hidden)}), got {pretrain_steps!r}")
        self.pretrain_steps = tuple(int(s) for s in steps)
        self.loss_kind, self.tied = loss, bool(tied)
        widths = (int(np.prod(data_shape)), *self.hidden)
        self.encoders = Sequential(*[Linear(a, b, rng=rng) for a, b in zip(widths, widths[1:])])
        # decoders[k] maps layer k+1 back to layer k (decoders[0] outputs the image logits)
        self.decoders = Sequential(*[
            TiedLinear(encoder) if self.tied else Linear(b, a, rng=rng)
            for encoder, a, b in zip(self.encoders, widths, widths[1:])])
        self.register_buffer("steps_done", np.zeros((), dtype=np.int64))

    # ----- the layers --------------------------------------------------------------
    def _flat(self, x: Any) -> np.ndarray:
        array = np.asarray(x.data if isinstance(x, Tensor) else x)
        if array.shape[1:] != self.data_shape:
            raise ValueError(f"StackedAutoencoder: x has shape {array.shape}, expected "
                             f"(N, {', '.join(map(str, self.data_shape))})")
        return array.reshape(len(array), -1).astype(self.encoders[0].weight.dtype, copy=False)

    def code(self, x: Any, depth: int | None = None) -> Tensor:
        """h_depth (default h_K, the code), recorded.  x : (N, *data_shape) -> (N, n_depth)."""
        hidden = ag.Tensor(self._flat(x))
        for encoder in list(self.encoders)[:depth]:
            hidden = ag.sigmoid(encoder(hidden))  # h_k = σ(W_k h_{k−1} + b_k)
        return hidden

    def decode_logits(self, code: Tensor) -> Tensor:
        """Image logits from h_K.  code : (N, n_K) -> (N, *data_shape)."""
        hidden = code
        for k in reversed(range(len(self.decoders))):
            hidden = self.decoders[k](hidden)
            if k > 0:
                hidden = ag.sigmoid(hidden)  # ĥ_{k−1} = σ(V_k ĥ_k + b′_k)
        return hidden.reshape(len(hidden), *self.data_shape)

    def forward(self, x: Any) -> Tensor:
        return self.decode_logits(self.code(x))

    # ----- the two objectives ------------------------------------------------------
    def stage_loss(self, x: Any, stage: int) -> Tensor:
        """Greedy stage ``stage`` (0-based): reconstruct h_stage from h_{stage+1}."""
        with ag.no_grad():
            below = self.code(x, depth=stage)  # frozen layers: a constant input
        above = ag.sigmoid(self.encoders[stage](below))
        return self.reconstruction_loss(self.decoders[stage](above), below)

    def finetune_loss(self, x: Any) -> Tensor:
        """End to end: ℓ(x, σ(decode(code(x)))), mean over the batch."""
        return self.reconstruction_loss(self(x), x)

    @property
    def stage(self) -> int:
        """Current stage: 0..K−1 pretrains that layer; K fine-tunes end to end."""
        boundaries = np.cumsum(self.pretrain_steps)
        return int(np.searchsorted(boundaries, int(self.steps_done), side="right"))

    # ----- the model protocol ------------------------------------------------------
    def train_step(self, x: Any, rng: np.random.Generator | None = None) -> dict[str, float]:
        """One Adam step on the current stage's loss; ``rng`` is unused (deterministic)."""
        stage = self.stage
        finetuning = stage >= len(self.hidden)
        loss = self.step_player("autoencoder", lambda: self.finetune_loss(x) if finetuning
                                else self.stage_loss(x, stage))
        self.steps_done = self.steps_done + 1
        return {"loss": loss, "stage": float(stage),
                "finetuning": float(finetuning)}

    def players(self) -> dict[str, list[Parameter]]:
        """One Adam over every layer (a layer without gradient in a stage is skipped)."""
        return {"autoencoder": self.parameters()}

    def loss(self, x: Any, rng: np.random.Generator | None = None) -> Tensor:
        """The end-to-end reconstruction loss (what fine-tuning minimises)."""
        return self.finetune_loss(x)

    def metrics(self, x: Any, rng: np.random.Generator | None = None) -> dict[str, float]:
        """Per-pixel reconstruction MSE and MAE, mean code activation, current stage."""
        return {**super().metrics(x, rng), "stage": float(self.stage)}

    def extra_repr(self) -> str:
        return (f"data_shape={self.data_shape}, hidden={self.hidden}, tied={self.tied}, "
                f"loss={self.loss_kind!r}, pretrain_steps={self.pretrain_steps}")
