"""One VAE training step, minigen vs PyTorch CPU, in the same process.

Network (issue 3): encoder 64 → 256 → 256 → 2·16 (μ, log σ), mirrored decoder 16 → 256 →
256 → 64 Bernoulli logits, batch 128, Adam, float32; the step is forward (one
reparameterised draw, closed-form KL), backward and the optimiser update.

Fairness: both run in one process with the same weights, alternating phases for
``--rounds`` rounds; before each timed phase we sleep 0.3 s and make one untimed step
(the other library's BLAS/OpenMP threads keep spinning for a while and slow the next
phase). The table reports median per-step times and the median of per-round ratios.
glibc's malloc trimming makes torch's times swing, so the script re-executes itself with
MALLOC_MMAP_THRESHOLD_/MALLOC_TRIM_THRESHOLD_ set, and with ``--threads`` BLAS/OpenMP
threads for both libraries (default 1: on a shared 2-core machine two spinning thread
pools per library oversubscribe the cores and both times swing by 10×).

    python benchmarks/vae_bench.py [--rounds 7] [--steps 50] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

parser = argparse.ArgumentParser(description="One VAE training step, minigen vs PyTorch CPU.")
parser.add_argument("--rounds", type=int, default=7)
parser.add_argument("--steps", type=int, default=50, help="timed steps per phase")
parser.add_argument("--threads", type=int, default=1,
                    help="BLAS/OpenMP threads for both libraries (1: steady on a shared box)")
ARGS = parser.parse_args()

# Environment read once at start-up (glibc malloc, BLAS pools): re-execute with it set.
SETTINGS = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "1073741824",
            **{name: str(ARGS.threads) for name in
               ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}}
if any(os.environ.get(key) != value for key, value in SETTINGS.items()):
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **SETTINGS})

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from minigen.models.latent.vae import VAE  # noqa: E402
from minigen.optim import Adam  # noqa: E402

torch.set_num_threads(ARGS.threads)

BATCH, DATA_DIM, LATENT, HIDDEN = 128, 64, 16, (256, 256)


def torch_network(ours: VAE) -> tuple[torch.nn.Module, torch.nn.Module]:
    """The same MLPs in torch.nn, with our weights copied in."""
    def mirror(sequential) -> torch.nn.Sequential:
        layers = []
        for layer in sequential:
            if hasattr(layer, "weight"):
                linear = torch.nn.Linear(layer.in_features, layer.out_features)
                with torch.no_grad():
                    linear.weight.copy_(torch.from_numpy(layer.weight.data))
                    linear.bias.copy_(torch.from_numpy(layer.bias.data))
                layers.append(linear)
            else:
                layers.append(torch.nn.ReLU())
        return torch.nn.Sequential(*layers)

    return mirror(ours.encoder), mirror(ours.decoder)


def torch_loss(encoder, decoder, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    mean, log_scale = encoder(x).chunk(2, dim=-1)
    z = mean + log_scale.exp() * noise  # z = μ + σ ε
    logits = decoder(z)
    reconstruction = -torch.nn.functional.binary_cross_entropy_with_logits(
        logits, x, reduction="none").sum(-1)
    kl = 0.5 * (mean**2 + (2 * log_scale).exp() - 1 - 2 * log_scale).sum(-1)
    return (kl - reconstruction).mean()


def main() -> None:
    args = ARGS
    rng = np.random.default_rng(0)
    x = (rng.uniform(size=(BATCH, 1, 8, 8)) < 0.4).astype(np.float32)
    model = VAE((1, 8, 8), rng=rng, latent_dim=LATENT, hidden=HIDDEN)
    optimizer = Adam(model.parameters(), lr=1e-3)
    encoder, decoder = torch_network(model)
    torch_optimizer = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], lr=1e-3)
    x_torch = torch.from_numpy(x.reshape(BATCH, DATA_DIM))

    # Same weights and the same ε: the two losses must agree before anything is timed.
    ours_loss = model.loss(x, np.random.default_rng(1)).item()
    noise = np.random.default_rng(1).standard_normal((BATCH, LATENT)).astype(np.float32)
    theirs_loss = torch_loss(encoder, decoder, x_torch, torch.from_numpy(noise)).item()
    assert abs(ours_loss - theirs_loss) < 1e-3 * abs(theirs_loss), (ours_loss, theirs_loss)

    noise_rng = np.random.default_rng(2)

    def ours_step() -> None:
        optimizer.zero_grad()
        model.loss(x, noise_rng).backward()
        optimizer.step()

    def torch_step() -> None:
        torch_optimizer.zero_grad()
        torch_loss(encoder, decoder, x_torch, torch.randn(BATCH, LATENT)).backward()
        torch_optimizer.step()

    def timed(step) -> float:
        time.sleep(0.3)
        step()  # untimed: warms caches and lets the other library's threads go quiet
        start = time.perf_counter()
        for _ in range(args.steps):
            step()
        return (time.perf_counter() - start) / args.steps

    ours_times, torch_times, ratios = [], [], []
    for round_index in range(args.rounds):
        if round_index % 2 == 0:
            ours_time, torch_time = timed(ours_step), timed(torch_step)
        else:
            torch_time, ours_time = timed(torch_step), timed(ours_step)
        ours_times.append(ours_time)
        torch_times.append(torch_time)
        ratios.append(ours_time / torch_time)

    print(f"VAE training step, batch {BATCH}, encoder {DATA_DIM}→{HIDDEN[0]}→{HIDDEN[1]}→"
          f"2·{LATENT}, mirrored decoder, Adam, float32 ({args.rounds} rounds × "
          f"{args.steps} steps; numpy {np.__version__}, torch {torch.__version__} with "
          f"{torch.get_num_threads()} thread(s) and BLAS threads = {args.threads}, "
          f"{platform.machine()}, load average {os.getloadavg()[0]:.1f})")
    print()
    print("| implementation | median ms / step | ratio to torch |")
    print("|---|---:|---:|")
    print(f"| minigen (NumPy autograd) | {1e3 * np.median(ours_times):.3f} | "
          f"{np.median(ratios):.2f}× (median of rounds) |")
    print(f"| PyTorch CPU | {1e3 * np.median(torch_times):.3f} | 1.00× |")
    print()
    print("per-round ratios: " + ", ".join(f"{r:.2f}" for r in ratios))


if __name__ == "__main__":
    main()
