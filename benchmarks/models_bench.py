"""One full training step of minigen's conv and recurrent models against torch twins.

    python benchmarks/models_bench.py [--rounds 7] [--phase-seconds 0.25] [--threads N]
                                      [--models pixelcnn,vae,...]

A step is what training runs: forward, loss, backward and an Adam update, on one batch
of the registry's size, with the registry's default hyper-parameters and learning rate.
Each minigen model faces a torch twin (``torch_twins.py``) computing the same equations
from a copy of its weights; before anything is timed the two losses must agree (relative
1e-4), so a twin that drifts from its model stops the benchmark instead of timing other
work. Cases: PixelCNN, Gated PixelCNN, Row LSTM and Diagonal BiLSTM on binary 8×8
images, the VQ-VAE on [0, 1] images, the VAE (registry MLP, Bernoulli decoder), the
LSTM layer (seq 64, batch 32, 128→128, loss = sum of outputs, against torch.nn.LSTM), the
DCGAN on [−1, 1] images (one discriminator step and one generator step as its
``train_step``, BatchNorm in training mode, the same pre-drawn z on both sides; both
players' losses checked, and the benchmark's step checked against ``train_step`` itself)
and the DDPM U-Net (the ε-MSE on fixed pre-drawn t and ε, Adam, then the weights' EMA).

Timing is benchmarks/harness.py's: by default the script runs at 1 thread and at the
machine default, each in a fresh process, and prints one table with both; ours and torch
alternate for ``--rounds`` rounds with a pause and an untimed call before every phase.
The 1-thread run also prints the peak memory that tracemalloc sees for one forward +
backward of the LSTM layer at T = 64, 256 and 1024 (NumPy's allocations; it should grow
linearly in T).
"""

from __future__ import annotations

# Run as `python benchmarks/models_bench.py`, Python puts benchmarks/ first on sys.path,
# so the sibling harness and twins import by name.
import harness

ARGS = harness.start(  # before NumPy: pins BLAS threads, may re-execute
    __doc__, add_arguments=lambda parser: parser.add_argument(
        "--models", default="", help="comma-separated case names (default: all)"))

import sys  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import autograd as ag  # noqa: E402
from minigen.models import registry  # noqa: E402
from minigen.nn import LSTM  # noqa: E402
from minigen.optim import Adam  # noqa: E402

torch = harness.import_torch(ARGS.threads)
if torch is None:
    sys.exit("models_bench.py compares against torch twins: install torch")
import torch_twins  # noqa: E402  (needs torch)

Step = Callable[[], None]
IMAGE_SHAPE = (1, 8, 8)
LSTM_SEQUENCE, LSTM_BATCH, LSTM_SIZE = 64, 32, 128
MEMORY_LENGTHS = (64, 256, 1024)


def twin_parameters(model) -> tuple[dict, list]:
    """The model's state_dict as torch tensors; its Parameters become trainable leaves."""
    trainable = {name for name, _ in model.named_parameters()}
    params = {name: torch.tensor(np.array(value), requires_grad=name in trainable)
              for name, value in model.state_dict().items()
              if np.asarray(value).dtype.kind == "f"}
    return params, [params[name] for name in sorted(trainable)]


def image_case(name: str, twin_loss: Callable, rng: np.random.Generator,
               binary: bool = True, prepare: Callable | None = None) -> tuple[Step, Step]:
    """A registry image model and its twin; both steps run Adam at the registry's lr."""
    spec = registry.get_spec(name)
    model = registry.build(name, IMAGE_SHAPE, np.random.default_rng(0))
    draw = rng.random((spec.batch_size, *IMAGE_SHAPE))
    x = (draw < 0.4).astype(np.float32) if binary else draw.astype(np.float32)
    if prepare is not None:
        prepare(model, x)
    params, trainable = twin_parameters(model)
    x_torch = torch.from_numpy(x)
    check_losses(name, model.loss(x).item(), twin_loss(params, x_torch).item())
    optimizer = Adam(model.parameters(), lr=spec.lr)
    torch_optimizer = torch.optim.Adam(trainable, lr=spec.lr)

    def ours() -> None:
        optimizer.zero_grad()
        model.loss(x).backward()
        optimizer.step()

    def theirs() -> None:
        torch_optimizer.zero_grad()
        twin_loss(params, x_torch).backward()
        torch_optimizer.step()

    return ours, theirs


def initialise_codebook(model, x: np.ndarray) -> None:
    """The VQ-VAE starts its codebook on the first batch's encoder outputs, in the
    ``before_step`` the trainer calls (its loss no longer does it)."""
    model.before_step(x, np.random.default_rng(0))


def vae_case(rng: np.random.Generator) -> tuple[Step, Step]:
    spec = registry.get_spec("vae")
    model = registry.build("vae", IMAGE_SHAPE, np.random.default_rng(0))
    x = (rng.random((spec.batch_size, *IMAGE_SHAPE)) < 0.4).astype(np.float32)
    latent = spec.hparams["latent_dim"]
    params, trainable = twin_parameters(model)
    x_torch = torch.from_numpy(x)
    # the same ε: the VAE draws it first from the rng it is given
    noise = np.random.default_rng(1).standard_normal((len(x), latent)).astype(np.float32)
    check_losses("vae", model.loss(x, np.random.default_rng(1)).item(),
                 torch_twins.vae_loss(params, x_torch, torch.from_numpy(noise)).item())
    optimizer = Adam(model.parameters(), lr=spec.lr)
    torch_optimizer = torch.optim.Adam(trainable, lr=spec.lr)
    noise_rng = np.random.default_rng(2)

    def ours() -> None:
        optimizer.zero_grad()
        model.loss(x, noise_rng).backward()
        optimizer.step()

    def theirs() -> None:
        torch_optimizer.zero_grad()
        torch_twins.vae_loss(params, x_torch, torch.randn(len(x), latent)).backward()
        torch_optimizer.step()

    return ours, theirs


def lstm_pair(length: int, rng: np.random.Generator) -> tuple[LSTM, np.ndarray]:
    model = LSTM(LSTM_SIZE, LSTM_SIZE, rng=np.random.default_rng(0))
    return model, rng.standard_normal((length, LSTM_BATCH, LSTM_SIZE)).astype(np.float32)


def lstm_case(rng: np.random.Generator) -> tuple[Step, Step]:
    model, x = lstm_pair(LSTM_SEQUENCE, rng)
    twin = torch.nn.LSTM(LSTM_SIZE, LSTM_SIZE)
    twin.load_state_dict({k: torch.tensor(v) for k, v in model.state_dict().items()})
    x_torch = torch.from_numpy(x)
    check_losses("lstm", model(x)[0].sum().item(), twin(x_torch)[0].sum().item())
    optimizer = Adam(model.parameters(), lr=1e-3)
    torch_optimizer = torch.optim.Adam(twin.parameters(), lr=1e-3)

    def ours() -> None:
        optimizer.zero_grad()
        model(x)[0].sum().backward()
        optimizer.step()

    def theirs() -> None:
        torch_optimizer.zero_grad()
        twin(x_torch)[0].sum().backward()
        torch_optimizer.step()

    return ours, theirs


# ----- DCGAN: one discriminator step and one generator step, as DCGAN.train_step ---------


def player_optimizers(model, params: dict, spec) -> dict:
    """One torch Adam per player over the twin's copies of that player's parameters, with
    the registry's learning rate and betas (what build_optimizers gives the model)."""
    names = {id(parameter): name for name, parameter in model.named_parameters()}
    return {player: torch.optim.Adam(
        [params[names[id(parameter)]] for parameter in parameters],
        lr=spec.lr * spec.players[player].lr_scale, betas=spec.players[player].betas)
        for player, parameters in model.players().items()}


def dcgan_step(model, real: np.ndarray, z_discriminator: np.ndarray,
               z_generator: np.ndarray) -> tuple[float, float]:
    """GAN.train_step with its two noise draws handed in (the seam that lets the twin see
    the same z): D steps on real against G(z_D), then G steps on d(G(z_G)), then D's mean
    output on real and fake (train_step's figures, two more forward passes)."""
    with ag.no_grad():
        fake = model.generate(z_discriminator)  # G is fixed in D's step
    d_loss = model.step_player("discriminator", lambda: model.discriminator_loss(
        real, fake, np.random.default_rng(0)))  # the rng feeds WGAN-GP's penalty only
    g_loss = model.step_player("generator",
                               lambda: model.generator_loss(model.generate(z_generator)))
    with ag.no_grad():
        ag.sigmoid(model.discriminator_logits(real)).data.mean()
        ag.sigmoid(model.discriminator_logits(fake)).data.mean()
    return d_loss, g_loss


def dcgan_twin_step(params: dict, optimizers: dict, real, z_discriminator,
                    z_generator) -> tuple[float, float]:
    """:func:`dcgan_step` in torch."""
    with torch.no_grad():
        fake = torch_twins.dcgan_generate(params, z_discriminator)
    optimizers["discriminator"].zero_grad()
    d_loss = torch_twins.dcgan_discriminator_loss(params, real, fake)
    d_loss.backward()
    optimizers["discriminator"].step()
    optimizers["generator"].zero_grad()
    g_loss = torch_twins.dcgan_generator_loss(
        params, torch_twins.dcgan_generate(params, z_generator))
    g_loss.backward()
    optimizers["generator"].step()
    with torch.no_grad():
        torch.sigmoid(torch_twins.dcgan_critic(params, real)).mean()
        torch.sigmoid(torch_twins.dcgan_critic(params, fake)).mean()
    return d_loss.item(), g_loss.item()


def build_dcgan():
    spec = registry.get_spec("dcgan")
    model = registry.build("dcgan", IMAGE_SHAPE, np.random.default_rng(0))
    model.build_optimizers(spec.lr, spec.players)
    return spec, model


def check_dcgan_seam(real: np.ndarray) -> None:
    """:func:`dcgan_step` must be DCGAN.train_step: same weights, same rng, same losses.
    train_step draws z_D, then z_G, from its rng; a change there stops the benchmark."""
    _, model = build_dcgan()
    figures = model.train_step(real, np.random.default_rng(7))
    _, copy = build_dcgan()
    noise_rng = np.random.default_rng(7)
    z_discriminator = copy.noise(len(real), noise_rng)
    seam = dcgan_step(copy, real, z_discriminator, copy.noise(len(real), noise_rng))
    if seam != (figures["discriminator"], figures["generator"]):
        sys.exit(f"models_bench.py: dcgan: the benchmark's step gives losses {seam}, "
                 f"DCGAN.train_step {figures['discriminator'], figures['generator']}; "
                 f"dcgan_step no longer mirrors train_step")


def dcgan_case(rng: np.random.Generator) -> tuple[Step, Step]:
    spec, model = build_dcgan()
    real = rng.uniform(-1, 1, (spec.batch_size, *IMAGE_SHAPE)).astype(np.float32)
    check_dcgan_seam(real)
    z_discriminator, z_generator = (model.noise(spec.batch_size, np.random.default_rng(seed))
                                    for seed in (1, 2))
    params, _ = twin_parameters(model)
    optimizers = player_optimizers(model, params, spec)
    real_torch, z_d_torch, z_g_torch = (torch.from_numpy(array) for array in
                                        (real, z_discriminator, z_generator))
    # the first step of each, from the same weights: both players' losses must agree (the
    # generator's after the discriminator's Adam update, so that is checked too)
    ours_losses = dcgan_step(model, real, z_discriminator, z_generator)
    theirs_losses = dcgan_twin_step(params, optimizers, real_torch, z_d_torch, z_g_torch)
    for player, ours_loss, theirs_loss in zip(("discriminator", "generator"), ours_losses,
                                              theirs_losses):
        check_losses(f"dcgan {player}", ours_loss, theirs_loss)

    def ours() -> None:
        dcgan_step(model, real, z_discriminator, z_generator)

    def theirs() -> None:
        dcgan_twin_step(params, optimizers, real_torch, z_d_torch, z_g_torch)

    return ours, theirs


# ----- DDPM: the ε-prediction loss of the U-Net, Adam, the EMA of the weights ------------


def ddpm_case(rng: np.random.Generator) -> tuple[Step, Step]:
    """Fixed t and ε for both sides (drawn once by the model's own noise_batch); the step is
    DDPM.loss on them, backward, Adam, then after_step's weight average, as training runs."""
    spec = registry.get_spec("ddpm")
    model = registry.build("ddpm", IMAGE_SHAPE, np.random.default_rng(0))
    conv_out = model.network.conv_out.weight
    # the output conv starts at zero (ε̂ = 0), which would hide every other layer from the
    # loss check: give it random weights so the check sees the whole U-Net
    conv_out.data = rng.normal(0.0, 0.1, conv_out.shape).astype(conv_out.dtype)
    x0 = rng.uniform(-1, 1, (spec.batch_size, *IMAGE_SHAPE)).astype(np.float32)
    x_t, t, noise = model.noise_batch(x0, np.random.default_rng(1))
    params, trainable = twin_parameters(model)
    x_t_torch, t_torch, noise_torch = (torch.from_numpy(array) for array in (x_t, t, noise))

    def loss() -> ag.Tensor:
        error = model.network(x_t, t) - noise  # DDPM.loss after its noise_batch
        return (error * error).mean()

    check_losses("ddpm", loss().item(),
                 torch_twins.ddpm_loss(params, x_t_torch, t_torch, noise_torch).item())
    optimizer = Adam(model.parameters(), lr=spec.lr)
    torch_optimizer = torch.optim.Adam(trainable, lr=spec.lr)
    decay = model.ema.decay
    tracked = [params[f"network.{name}"] for name, _ in model.network.named_parameters()]
    averages = [params[f"ema.average{index}"] for index in range(len(tracked))]

    def ours() -> None:
        optimizer.zero_grad()
        loss().backward()
        optimizer.step()
        model.after_step()

    def theirs() -> None:
        torch_optimizer.zero_grad()
        torch_twins.ddpm_loss(params, x_t_torch, t_torch, noise_torch).backward()
        torch_optimizer.step()
        with torch.no_grad():
            for average, parameter in zip(averages, tracked):
                average.mul_(decay).add_(parameter, alpha=1 - decay)  # θ̄ ← dθ̄ + (1 − d)θ

    return ours, theirs


def check_losses(name: str, ours: float, theirs: float) -> None:
    if not abs(ours - theirs) <= 1e-4 * max(1.0, abs(theirs)):
        sys.exit(f"models_bench.py: {name}: our loss {ours:.7g} and the torch twin's "
                 f"{theirs:.7g} differ; the twin no longer matches the model")


CASES: dict[str, tuple[str, Callable[[np.random.Generator], tuple[Step, Step]]]] = {
    "pixelcnn": ("PixelCNN (registry default)",
                 lambda rng: image_case("pixelcnn", torch_twins.pixelcnn_loss, rng)),
    "gated_pixelcnn": ("Gated PixelCNN", lambda rng: image_case(
        "gated_pixelcnn", torch_twins.gated_pixelcnn_loss, rng)),
    "row_lstm": ("Row LSTM", lambda rng: image_case("row_lstm", torch_twins.row_lstm_loss,
                                                    rng)),
    "diagonal_bilstm": ("Diagonal BiLSTM", lambda rng: image_case(
        "diagonal_bilstm", torch_twins.diagonal_bilstm_loss, rng)),
    "vqvae": ("VQ-VAE", lambda rng: image_case(
        "vqvae", lambda p, x: torch_twins.vqvae_loss(p, x, registry.get_spec(
            "vqvae").hparams["beta"]), rng, binary=False, prepare=initialise_codebook)),
    "vae": ("VAE (registry MLP)", vae_case),
    "lstm": (f"nn.LSTM seq {LSTM_SEQUENCE}, batch {LSTM_BATCH}, {LSTM_SIZE}→{LSTM_SIZE}",
             lstm_case),
    "dcgan": ("DCGAN (D step + G step)", dcgan_case),
    "ddpm": ("DDPM U-Net (ε-MSE, Adam, EMA)", ddpm_case),
}


def lstm_peak_memory() -> list[list[str]]:
    """Peak NumPy memory of one LSTM forward + backward, per sequence length."""
    cells = []
    for length in MEMORY_LENGTHS:
        model, x = lstm_pair(length, np.random.default_rng(3))
        tracemalloc.start()
        model(x)[0].sum().backward()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        cells.append([f"T = {length}", f"{peak / 2**20:.1f} MiB",
                      f"{peak / length / 2**10:.0f} KiB"])
    return cells


def selected() -> list[str]:
    chosen = ARGS.models.split(",") if ARGS.models else list(CASES)
    unknown = sorted(set(chosen) - set(CASES))
    if unknown:
        sys.exit(f"models_bench.py: unknown --models {unknown}; choose from {sorted(CASES)}")
    return chosen


def main() -> None:
    rng = np.random.default_rng(0)
    names = selected()
    pairs = {name: CASES[name][1](rng) for name in names}
    rows = harness.compare({name: pair[0] for name, pair in pairs.items()},
                           {name: pair[1] for name, pair in pairs.items()},
                           ARGS.rounds, ARGS.phase_seconds)
    for row in rows:
        row.name = CASES[row.name][0]
    harness.report(ARGS, f"one training step (forward, loss, backward, Adam), float32, "
                         f"registry batch sizes; {ARGS.rounds} alternating rounds; "
                         f"numpy {np.__version__}, torch {torch.__version__}", rows)
    if ARGS.threads == 1 and "lstm" in names:
        print(f"nn.LSTM forward + backward peak memory (tracemalloc), batch {LSTM_BATCH}, "
              f"{LSTM_SIZE}→{LSTM_SIZE}, float32\n")
        print(harness.markdown_table(["length", "peak", "peak per step"], lstm_peak_memory()))
        print()


if __name__ == "__main__":
    main()
