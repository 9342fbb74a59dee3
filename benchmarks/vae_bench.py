"""One VAE training step, minigen vs PyTorch CPU, in the same process.

    python benchmarks/vae_bench.py [--rounds 7] [--phase-seconds 0.25] [--threads 1]

Network (issue 3): encoder 64 → 256 → 256 → 2·16 (μ, log σ), mirrored decoder 16 → 256 →
256 → 64 Bernoulli logits, batch 128, Adam, float32; the step is forward (one
reparameterised draw, closed-form KL), backward and the optimiser update. Torch gets our
weights, and both losses must agree on the same ε before anything is timed.

Timing is benchmarks/harness.py's: the script re-executes itself with the glibc malloc
settings (torch's times swing with malloc trimming) and ``--threads`` BLAS/OpenMP threads
for both libraries (default 1: on a shared 2-core machine two spinning thread pools per
library oversubscribe the cores and both times swing by 10×); both run alternating phases
for ``--rounds`` rounds, each preceded by a 0.3 s pause and one untimed step. The table
reports median per-step times and the median of per-round ratios. Needs torch.
"""

from __future__ import annotations

# Run as `python benchmarks/vae_bench.py`, Python puts benchmarks/ first on sys.path,
# so the sibling harness imports by name.
import harness

ARGS = harness.start(__doc__)  # before NumPy: pins BLAS threads, may re-execute

import os  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from minigen.models.latent.vae import VAE  # noqa: E402
from minigen.optim import Adam  # noqa: E402

torch = harness.import_torch(ARGS.threads)
if torch is None:
    sys.exit("vae_bench.py compares against the same network in torch: install torch")

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

    [row] = harness.compare({"step": ours_step}, {"step": torch_step},
                            ARGS.rounds, ARGS.phase_seconds)

    print(f"VAE training step, batch {BATCH}, encoder {DATA_DIM}→{HIDDEN[0]}→{HIDDEN[1]}→"
          f"2·{LATENT}, mirrored decoder, Adam, float32 ({ARGS.rounds} rounds × "
          f"≥ {ARGS.phase_seconds} s phases; numpy {np.__version__}, torch {torch.__version__} "
          f"with {torch.get_num_threads()} thread(s) and BLAS threads = {ARGS.threads}, "
          f"{platform.machine()}, load average {os.getloadavg()[0]:.1f})")
    print()
    print(harness.markdown_table(
        ["implementation", "median ms / step", "ratio to torch"],
        [["minigen (NumPy autograd)", f"{1e3 * row.ours_seconds:.3f}",
          f"{row.ratio:.2f}× (median of rounds)"],
         ["PyTorch CPU", f"{1e3 * row.torch_seconds:.3f}", "1.00×"]]))
    print()
    print("per-round ratios: " + ", ".join(f"{r:.2f}" for r in row.round_ratios))


if __name__ == "__main__":
    main()
