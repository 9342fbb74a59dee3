"""The one list of minigen's models: name -> class, default data and hyper-parameters.

The CLI, the trainer and the benchmarks read this table; nothing else lists models.

Every registered class follows the protocol in ``minigen.models.base`` (read it first):
``Model(data_shape, *, rng, **hparams)`` where ``data_shape`` is one example's shape, e.g.
``(1, 8, 8)`` for digits or ``(2,)`` for a 2-D toy set (a model conditioned on labels also
gets ``num_classes``). The defaults of every hyper-parameter, of the training settings and
of each player's optimiser live here, and only here.
"""

from __future__ import annotations

import importlib
import inspect
import math
from dataclasses import dataclass, field
from typing import Any

from minigen.models.base import PlayerSettings


@dataclass(frozen=True)
class ModelSpec:
    """How to build and train one registered model."""

    name: str
    family: str
    target: str  # "module.path:ClassName", imported only when the model is used
    description: str
    data: str  # a name from minigen.data.DATASETS
    hparams: dict[str, Any] = field(default_factory=dict)
    epochs: int = 20
    batch_size: int = 64
    lr: float | None = 1e-3  # None: fitted without a learning rate (counting, closed form)
    # Models that train themselves (minigen.models.base.TrainsItself): settings per player
    players: dict[str, PlayerSettings] = field(default_factory=dict)

    def model_class(self) -> type:
        module_name, class_name = self.target.split(":")
        return getattr(importlib.import_module(module_name), class_name)


_SPECS: list[ModelSpec] = [
    # --- tabular (counting) models: minigen/models/tabular.py ---------------------------
    # Counting is their training: one epoch counts every example once (train_step).
    ModelSpec("joint-table", "tabular", "minigen.models.tabular:JointTable",
              "one probability per binary image: 2^n - 1 free parameters (n = 9 here)",
              "bars-and-stripes-3", {"smoothing": 0.0}, epochs=1, batch_size=500, lr=None),
    ModelSpec("chain-rule-tables", "tabular", "minigen.models.tabular:ChainRuleTables",
              "p(x_i | x_<i) tables by the chain rule: 1 + 2 + ... + 2^(n-1) = 2^n - 1",
              "bars-and-stripes-3", {"smoothing": 0.0}, epochs=1, batch_size=500, lr=None),
    ModelSpec("independent-bernoulli", "tabular", "minigen.models.tabular:IndependentBernoulli",
              "every pixel its own coin: n free parameters (row-major 8x8 digits)",
              "digits-binary", {"smoothing": 1.0}, epochs=1, batch_size=500, lr=None),
    ModelSpec("markov-chain", "tabular", "minigen.models.tabular:MarkovChain",
              "p(x_i | x_(i-1)) along the row-major pixel order: 2n - 1 free parameters",
              "digits-binary", {"smoothing": 1.0}, epochs=1, batch_size=500, lr=None),
    # --- latent-variable models: minigen/models/latent/ ---------------------------------
    # The Quickstart model: 60 epochs of 1,497 digits train in ~25 s on one busy core.
    ModelSpec("vae", "latent", "minigen.models.latent.vae:VAE",
              "variational autoencoder 64-256-256-16 (MLP), Bernoulli decoder; -ELBO loss, "
              "IWAE bound at evaluation",
              "digits-binary", {"latent_dim": 16, "hidden": [256, 256],
                                "likelihood": "bernoulli"},
              epochs=60, batch_size=128, lr=3e-3),
    # beta = 2: on 8x8 digits beta = 4 already collapses q(z|x) onto the prior (KL -> 0).
    ModelSpec("beta_vae", "latent", "minigen.models.latent.beta_vae:BetaVAE",
              "beta-VAE: the VAE with beta = 2 on the KL (fewer nats in z, blurrier images); "
              "ELBO/IWAE reported at beta = 1",
              "digits-binary", {"beta": 2.0, "latent_dim": 16, "hidden": [256, 256],
                                "likelihood": "bernoulli"},
              epochs=60, batch_size=128, lr=3e-3),
    ModelSpec("cvae", "latent", "minigen.models.latent.conditional_vae:ConditionalVAE",
              "conditional VAE: one-hot labels into encoder and decoder; sample(n, y=digits)",
              "digits-binary", {"latent_dim": 16, "hidden": [256, 256],
                                "likelihood": "bernoulli"},
              epochs=60, batch_size=128, lr=3e-3),
    # Two players, own optimisers (train_step); latent_dim 2 so latent.png shows the prior's shape.
    ModelSpec("aae", "latent",
              "minigen.models.latent.adversarial_autoencoder:AdversarialAutoencoder",
              "adversarial autoencoder 64-256-256-2, codes pushed to a ring of 10 Gaussians "
              "(prior: gaussian, mixture10, swissroll)",
              "digits", {"latent_dim": 2, "prior": "mixture10", "hidden": [256, 256],
                         "loss": "bce"},
              epochs=40, batch_size=64, lr=1e-3,
              players={"reconstruction": PlayerSettings(),
                       "discriminator": PlayerSettings(lr_scale=0.2, betas=(0.5, 0.999)),
                       "generator": PlayerSettings(lr_scale=0.2, betas=(0.5, 0.999))}),
    # Sample after fit_prior (a PixelCNN on the 4x4 code maps); before it codes are uniform.
    ModelSpec("vqvae", "latent", "minigen.models.latent.vqvae:VQVAE",
              "VQ-VAE: conv encoder to a 4x4 map, 32 codes of size 16, straight-through, "
              "beta = 0.25; code usage and perplexity reported",
              "digits", {"num_embeddings": 32, "embedding_dim": 16, "hidden": 32,
                         "downsample": 1, "beta": 0.25, "ema": False, "loss": "bce"},
              epochs=20, batch_size=64, lr=2e-3),
    # Autoencoders are not generative (sample raises); they learn codes and reconstructions.
    ModelSpec("autoencoder", "latent", "minigen.models.latent.autoencoder:Autoencoder",
              "plain autoencoder 64-128-16 (MLP), MSE on sigmoid outputs; manifold learning, "
              "no sampling",
              "digits", {"hidden": [128], "latent_dim": 16, "loss": "mse"},
              epochs=100, batch_size=64, lr=3e-3),
    ModelSpec("conv_autoencoder", "latent", "minigen.models.latent.autoencoder:ConvAutoencoder",
              "convolutional autoencoder: two stride-2 convs (16, 32 channels) to a 16-d code "
              "and transposed convs back; MSE; no sampling",
              "digits", {"hidden": [16, 32], "latent_dim": 16, "loss": "mse"},
              epochs=100, batch_size=64, lr=3e-3),
    ModelSpec("stacked_autoencoder", "latent",
              "minigen.models.latent.stacked_autoencoder:StackedAutoencoder",
              "sigmoid 64-128-64-16 autoencoder: 300 greedy steps per layer, then end to end",
              "digits", {"hidden": [128, 64, 16], "tied": False, "loss": "mse",
                         "pretrain_steps": 300},
              epochs=100, batch_size=64, lr=3e-3),
    ModelSpec("denoising_autoencoder", "latent",
              "minigen.models.latent.denoising_autoencoder:DenoisingAutoencoder",
              "denoising autoencoder: 25% of pixels masked to 0, reconstruct the clean image",
              "digits", {"hidden": [128], "latent_dim": 16, "loss": "mse",
                         "corruption": "mask", "noise_level": 0.25},
              epochs=100, batch_size=64, lr=3e-3),
    ModelSpec("sparse_autoencoder", "latent",
              "minigen.models.latent.sparse_autoencoder:SparseAutoencoder",
              "overcomplete 64-100-64 sigmoid code, KL penalty towards firing rate 0.05",
              "digits", {"hidden": [], "latent_dim": 100, "loss": "mse", "penalty": "kl",
                         "sparsity_target": 0.05, "beta": 0.3},
              epochs=100, batch_size=64, lr=3e-3),
    # Closed-form ML fit from running statistics (train_step): exact after one pass.
    ModelSpec("ppca", "latent", "minigen.models.latent.linear_gaussian:ProbabilisticPCA",
              "probabilistic PCA, d = 8: W, sigma^2 from the eigenvalues of the data covariance; "
              "NLL is a density in nats (can be negative); mean-field ELBO gap reported",
              "digits", {"latent_dim": 8}, epochs=1, batch_size=500, lr=None),
    # --- autoregressive vector models (FVSBN, NADE, RNADE, MADE) ------------------------
    ModelSpec("fvsbn", "autoregressive", "minigen.models.autoregressive.fvsbn:FVSBN",
              "logistic regression on the previous pixels (window=k: AR(k)); "
              "D + sum_i min(i, k) parameters",
              "digits-binary", {"window": None}, epochs=30, batch_size=32, lr=1e-2),
    ModelSpec("nade", "autoregressive", "minigen.models.autoregressive.nade:NADE",
              "NADE: one sigmoid hidden layer shared by all conditionals, O(DH) per image",
              "digits-binary", {"hidden": 100}, epochs=60, batch_size=32, lr=5e-3),
    ModelSpec("rnade", "autoregressive", "minigen.models.autoregressive.rnade:RNADE",
              "real-valued NADE: a mixture of Gaussians per conditional (density, nats)",
              "digits-dequantized", {"hidden": 50, "num_components": 5},
              epochs=60, batch_size=32, lr=5e-3),
    ModelSpec("made", "autoregressive", "minigen.models.autoregressive.made:MADE",
              "masked MLP; 8 random orderings cycled in training, evaluated as their mixture",
              "digits-binary", {"hidden": [500], "num_masks": 8, "ordering": "random"},
              epochs=100, batch_size=32, lr=2e-3),
    # --- autoregressive image models (PixelCNN, Gated PixelCNN, PixelRNN) ----------------
    # Sizes, lr, batch and epochs chosen on a validation split (300 of the 1,497 training
    # digits, drawn with a fixed seed, trained on the other 1,197), never on test: epochs
    # where the 5-epoch mean of the validation NLL stops falling; beyond, it overfits or
    # only wobbles (constant lr, no weight decay). Times: user CPU of `minigen train NAME`
    # (evaluation and figures included) by /usr/bin/time on one core, measured 2026-12-02
    # on the 2-core build machine: pixelcnn 63 s, gated 125 s, row_lstm 68 s, diagonal 86 s;
    # after the engine's speed work (issue 11), twice that day as the machine's speed
    # drifted: pixelcnn 39 / 54 s, gated 129 / 167 s, row_lstm 62 / 64 s, diagonal 73 / 98 s
    # (their steps alone: 2.2×, 1.2×, 1.5×, 1.5× faster than before, measured side by side).
    ModelSpec("pixelcnn", "autoregressive", "minigen.models.autoregressive.pixelcnn:PixelCNN",
              "PixelCNN: 7x7 type-A masked conv, 4 residual blocks of 5x5 type-B, 16/32 "
              "channels; blind spot up-right; ~50 s of one core",
              "digits-binary", {"channels": 16, "first_kernel": 7, "kernel_size": 5,
                                "num_blocks": 4}, epochs=50, batch_size=64, lr=2e-3),
    ModelSpec("gated_pixelcnn", "autoregressive",
              "minigen.models.autoregressive.gated_pixelcnn:GatedPixelCNN",
              "Gated PixelCNN: vertical + horizontal stacks, tanh*sigmoid gates, 8 layers of "
              "16 channels; no blind spot; ~2.5 min of one core",
              "digits-binary", {"channels": 16, "first_kernel": 5, "kernel_size": 3,
                                "num_layers": 8}, epochs=100, batch_size=64, lr=1e-3),
    ModelSpec("row_lstm", "autoregressive", "minigen.models.autoregressive.row_lstm:RowLSTM",
              "PixelRNN Row LSTM: 5x5 type-A conv, 4 layers of 16 channels, 1x5 masked "
              "input-to-state, 1x3 state-to-state, a row per step; ~65 s of one core",
              "digits-binary", {"channels": 16, "first_kernel": 5, "kernel_size": 5,
                                "num_layers": 4}, epochs=65, batch_size=64, lr=2e-3),
    ModelSpec("diagonal_bilstm", "autoregressive",
              "minigen.models.autoregressive.diagonal_bilstm:DiagonalBiLSTM",
              "PixelRNN Diagonal BiLSTM: skewed 2x1 state-to-state LSTMs both ways, 1 layer of "
              "16 channels, 2N-1 = 15 steps; sees the whole past; ~1.5 min of one core",
              "digits-binary", {"channels": 16, "first_kernel": 3, "num_layers": 1},
              epochs=90, batch_size=32, lr=3e-3),
    # --- energy-based models: minigen/models/energy/ ------------------------------------
    ModelSpec("rbm", "energy", "minigen.models.energy.rbm:RBM",
              "binary RBM 64x16 trained by CD-1; exact log Z by enumerating 2^16 hidden states",
              "digits-binary", {"hidden": 16, "cd_steps": 1, "persistent": False},
              epochs=50, batch_size=64, lr=0.1,
              players={"rbm": PlayerSettings(optimizer="sgd", momentum=0.5)}),
    ModelSpec("gsn", "energy", "minigen.models.energy.gsn:GSN",
              "walkback denoising autoencoder run as a Markov chain (salt-and-pepper 0.2, "
              "3 walkback steps)",
              "digits-binary", {"hidden": [256], "noise_level": 0.2, "walkback": 3},
              epochs=60, batch_size=64, lr=1e-3),
    # --- sequence models: minigen/models/sequence/ --------------------------------------
    # Character LMs on names (tokens (N, 16), id 0 = end token); the same classes take
    # --data digits-binary (64-token raster sequences, nats per image). Loss: nats per name.
    # Not tuned beyond the Transformer's epochs: 20 had the best validation nats/char (a
    # split of the training names) within 5 minutes of one core (~9.5 s per epoch).
    ModelSpec("bigram", "sequence", "minigen.models.sequence.bigram:Bigram",
              "bigram table p(s_t | s_t-1) by counting (+1 smoothing): 27 x 26 free "
              "parameters; the baseline, ~2.45 nats/char",
              "names", {"smoothing": 1.0}, epochs=1, batch_size=1000, lr=None),
    ModelSpec("rnn_lm", "sequence", "minigen.models.sequence.rnn_lm:RNNLM",
              "Elman RNN character LM: embedding 32, tanh hidden 128, linear head",
              "names", {"embedding_dim": 32, "hidden": 128, "num_layers": 1,
                        "dropout": 0.0}, epochs=10, batch_size=64, lr=3e-3),
    ModelSpec("lstm_lm", "sequence", "minigen.models.sequence.lstm_lm:LSTMLM",
              "LSTM character LM: embedding 32, hidden 128 (gates i, f, g, o; cell state)",
              "names", {"embedding_dim": 32, "hidden": 128, "num_layers": 1,
                        "dropout": 0.0}, epochs=8, batch_size=64, lr=3e-3),
    ModelSpec("gru_lm", "sequence", "minigen.models.sequence.gru_lm:GRULM",
              "GRU character LM: embedding 32, hidden 128 (gates r, z, n; no cell state)",
              "names", {"embedding_dim": 32, "hidden": 128, "num_layers": 1,
                        "dropout": 0.0}, epochs=8, batch_size=64, lr=3e-3),
    ModelSpec("transformer_lm", "sequence", "minigen.models.sequence.transformer_lm:TransformerLM",
              "decoder-only Transformer LM: learned positions, pre-LN, causal -inf mask, "
              "2 blocks of width 64, 4 heads",
              "names", {"embed_dim": 64, "num_heads": 4, "num_layers": 2, "dropout": 0.0,
                        "tied": False}, epochs=20, batch_size=64, lr=3e-3),
    # Bayes' rule over class densities; rejects by a percentile of training log p(x) and by
    # the likelihood ratio against a background model (trains itself: one player).
    ModelSpec("generative_classifier", "sequence",
              "minigen.models.sequence.generative_classifier:GenerativeClassifier",
              "p(y|x) by Bayes from one MADE 64-128-64 per class + a background MADE on "
              "perturbed digits (Ren et al. likelihood ratio); density='gaussian' baseline",
              "digits-binary", {"density": "made", "perturbation": 0.2},
              epochs=40, batch_size=64, lr=3e-3),
    # One colour pixel of matplotlib's Grace Hopper photograph: joint table vs channels.
    ModelSpec("rgb_pixel", "tabular", "minigen.models.tabular:RGBPixelJoint",
              "one RGB pixel's joint table: 256^3 - 1 = 16,777,215 free parameters, counted; "
              "add-1e-3 smoothing (chosen on validation; the plain MLE gives unseen test "
              "colours p = 0 and an infinite NLL)",
              "colour-pixels", {"smoothing": 1e-3}, epochs=1, batch_size=30000, lr=None),
    ModelSpec("rgb_independent", "tabular", "minigen.models.sequence.rgb_pixel:IndependentChannels",
              "one RGB pixel as p(r) p(g) p(b): 3 x 255 = 765 free parameters, counted",
              "colour-pixels", {"smoothing": 0.0}, epochs=1, batch_size=30000, lr=None),
    # --- diffusion: minigen/models/diffusion/ -----------------------------------------
    # One small U-Net (16/32 channels, GroupNorm, attention at 4x4, ~0.1 M parameters) on
    # digits in [-1, 1]; T = 1000 training steps; EMA weights (decay 0.995) sample. Any of
    # them takes sample(n, rng, sampler="ddim", steps=20, eta=0). With --data ring/grid the
    # denoiser is an MLP of `hidden` units. Times: user CPU of `minigen train NAME` on one
    # core, measured 2026-12-02: ddpm 269 s, classifier_guidance 134 s, cfg 119 s; ddpm 210 s
    # after the engine's speed work (the guidance models were not re-timed).
    # DDPM samples on 250 respaced steps by default: the same quality as 1000 in
    # benchmarks/diffusion_bench.py at a quarter of the CPU (the judge draws 1,000 samples).
    ModelSpec("ddpm", "diffusion", "minigen.models.diffusion.ddpm:DDPM",
              "DDPM: eps-prediction U-Net, T = 1000 linear betas, ancestral sampling with "
              "beta-tilde on 250 respaced steps (no noise at the last step); ~3.5 min of one core",
              "digits-signed", {"timesteps": 1000, "schedule": "linear", "width": 16,
                                "attention": True, "ema_decay": 0.995, "steps": 250},
              epochs=120, batch_size=64, lr=2e-3),
    ModelSpec("ddim", "diffusion", "minigen.models.diffusion.ddim:DDIM",
              "DDIM: the DDPM network and objective, sampled deterministically (eta = 0) "
              "on 50 of the 1000 steps; encode() inverts x_0 -> x_T",
              "digits-signed", {"timesteps": 1000, "schedule": "linear", "width": 16,
                                "attention": True, "ema_decay": 0.995, "steps": 50,
                                "eta": 0.0},
              epochs=120, batch_size=64, lr=2e-3),
    ModelSpec("classifier_guidance", "diffusion",
              "minigen.models.diffusion.classifier_guidance:ClassifierGuidance",
              "unconditional DDPM + a classifier of noisy x_t with t; "
              "eps-hat = eps - s sqrt(1 - abar_t) grad log p(y|x_t); DDIM 50 steps; "
              "~2.2 min of one core",
              "digits-signed", {"timesteps": 1000, "schedule": "linear", "width": 16,
                                "attention": True, "ema_decay": 0.995, "classifier_width": 16,
                                "guidance": 1.0, "sampler": "ddim", "steps": 50},
              epochs=60, batch_size=64, lr=2e-3),
    ModelSpec("classifier_free_guidance", "diffusion",
              "minigen.models.diffusion.classifier_free_guidance:ClassifierFreeGuidance",
              "one label-conditional U-Net, labels dropped with p = 0.15; "
              "eps-hat = (1 + w) eps(y) - w eps(null), w = 1; DDIM 50 steps; "
              "~2 min of one core",
              "digits-signed", {"timesteps": 1000, "schedule": "linear", "width": 16,
                                "attention": True, "ema_decay": 0.995, "p_uncond": 0.15,
                                "guidance": 1.0, "sampler": "ddim", "steps": 50},
              epochs=60, batch_size=64, lr=2e-3),
    # --- adversarial models (part 1): minigen/models/adversarial/ ------------------------
    # Two players with their own Adam (beta1 = 0.5, Radford et al. 2016); data in [-1, 1].
    # Times: CPU seconds on one busy core, measured by benchmarks/gan_bench.py.
    ModelSpec("gan", "adversarial", "minigen.models.adversarial.gan:GAN",
              "GAN, MLP 16-256-256-64 generator (tanh) and 64-256-256-1 discriminator, "
              "non-saturating loss (minimax, wasserstein + gradient penalty, pack=m PacGAN)",
              "digits-signed", {"latent_dim": 16, "hidden": [256, 256],
                                "discriminator_hidden": [256, 256], "loss": "non_saturating",
                                "pack": 1, "output": "tanh"},
              epochs=150, batch_size=64, lr=1e-3,
              players={"generator": PlayerSettings(betas=(0.5, 0.999)),
                       "discriminator": PlayerSettings(betas=(0.5, 0.999))}),
    ModelSpec("dcgan", "adversarial", "minigen.models.adversarial.dcgan:DCGAN",
              "DCGAN scaled to 8x8: transposed convs + BatchNorm + ReLU + tanh generator, "
              "strided convs + LeakyReLU 0.2 discriminator, N(0, 0.02) weights",
              "digits-signed", {"latent_dim": 32, "channels": 32, "loss": "non_saturating"},
              epochs=60, batch_size=64, lr=2e-4,
              players={"generator": PlayerSettings(betas=(0.5, 0.999)),
                       "discriminator": PlayerSettings(betas=(0.5, 0.999))}),
    ModelSpec("cgan", "adversarial", "minigen.models.adversarial.cgan:ConditionalGAN",
              "conditional GAN: one-hot labels into both MLP players; sample(n, y=digits)",
              "digits-signed", {"latent_dim": 16, "hidden": [256, 256],
                                "discriminator_hidden": [256, 256], "loss": "non_saturating",
                                "output": "tanh"},
              epochs=100, batch_size=64, lr=1e-3,
              players={"generator": PlayerSettings(betas=(0.5, 0.999)),
                       "discriminator": PlayerSettings(betas=(0.5, 0.999))}),
    ModelSpec("infogan", "adversarial", "minigen.models.adversarial.infogan:InfoGAN",
              "InfoGAN on DCGAN networks: 10-way categorical + 2 continuous codes, Q shares "
              "the discriminator's trunk, lambda L_I in both players' objectives",
              "digits-signed", {"latent_dim": 32, "categories": 10, "continuous": 2,
                                "channels": 32, "information_weight": 1.0},
              epochs=60, batch_size=64, lr=2e-4,
              players={"generator": PlayerSettings(betas=(0.5, 0.999)),
                       "discriminator": PlayerSettings(betas=(0.5, 0.999))}),
    # --- adversarial models (part 2), image to image: minigen/models/adversarial/ --------
    # Adam with beta1 = 0.5 for every player (both papers); data in [-1, 1]. CycleGAN: lr 1e-3
    # and batches of 8 (the paper: 2e-4, batches of 1) to translate within 40 epochs on a core.
    ModelSpec("pix2pix", "adversarial", "minigen.models.adversarial.pix2pix:Pix2Pix",
              "pix2pix: U-Net 8-4-2 generator with dropout noise, 4x4-patch PatchGAN on "
              "(source, image); cGAN + 100 L1; pixelated digit -> digit",
              "digits-pix2pix", {"channels": 32, "dropout": 0.5, "discriminator_channels": 32,
                                 "discriminator_layers": 1, "l1_weight": 100.0},
              epochs=150, batch_size=64, lr=2e-4,
              players={"generator": PlayerSettings(betas=(0.5, 0.999)),
                       "discriminator": PlayerSettings(betas=(0.5, 0.999))}),
    ModelSpec("cyclegan", "adversarial", "minigen.models.adversarial.cyclegan:CycleGAN",
              "CycleGAN: U-Net G: A->B and F: B->A, two 2-layer PatchGANs, least squares; "
              "10 cycle L1 + 5 identity L1, pools of 50 fakes; thin <-> bold digits unpaired",
              "digits-thin-bold", {"channels": 32, "discriminator_channels": 32,
                                   "discriminator_layers": 2, "cycle_weight": 10.0,
                                   "identity_weight": 0.5, "pool_size": 50},
              epochs=40, batch_size=8, lr=1e-3,
              players={"generators": PlayerSettings(betas=(0.5, 0.999)),
                       "discriminators": PlayerSettings(betas=(0.5, 0.999))}),
    # --- adversarial models (part 2, from domains and parts): minigen/models/adversarial/ --
    # Times: CPU seconds of one core (OMP_NUM_THREADS=1, /usr/bin/time, `minigen train NAME`
    # with evaluation and figures): stargan 196 s, puzzle_gan 115 s.
    ModelSpec("stargan", "adversarial", "minigen.models.adversarial.stargan:StarGAN",
              "StarGAN: one G(x, target domain) over original/bold/thin/rotated digits, "
              "D with critic + domain heads; WGAN-GP + cls + 10 L1 cycle, 5 D steps per G",
              "digits-domains", {"num_domains": 4, "channels": 16, "residual_blocks": 2,
                                 "classification_weight": 1.0, "reconstruction_weight": 10.0,
                                 "gradient_penalty_weight": 10.0},
              epochs=50, batch_size=64, lr=1e-3,
              players={"generator": PlayerSettings(betas=(0.5, 0.999)),
                       "discriminator": PlayerSettings(betas=(0.5, 0.999), steps=5)}),
    ModelSpec("puzzle_gan", "adversarial", "minigen.models.adversarial.puzzle_gan:PuzzleGAN",
              "Puzzle-GAN: the digit from 3 key 4x4 patches, places withheld; summed part "
              "embeddings -> mask + DCGAN generator; L1 mask + L1 appearance + adversarial",
              "digits-signed", {"num_patches": 3, "patch_size": 4, "min_ink": 5,
                                "embedding_dim": 64, "latent_dim": 8, "channels": 32,
                                "mask_weight": 30.0, "appearance_weight": 30.0},
              epochs=120, batch_size=64, lr=1e-3,
              players={"generator": PlayerSettings(betas=(0.5, 0.999)),
                       "discriminator": PlayerSettings(betas=(0.5, 0.999))}),
    # --- adversarial, part 3: text to image (minigen/models/adversarial/text2image.py) ---
    # 150 epochs: FD 16.5 (real 16.0), judge accuracy 0.998 on held-out phrasings, ~165 CPU s;
    # at 60 epochs FD was 25.6. The text encoder pre-trains at 10 x lr (300 batches, ~4 s).
    ModelSpec("text2image", "adversarial",
              "minigen.models.adversarial.text2image:TextToImageGAN",
              "GAN-CLS: captions -> pre-trained word GRU -> DCGAN G and matching-aware D "
              "(real/right, real/wrong, fake/right); sample(n, text=captions)",
              "digits-captions", {"latent_dim": 32, "channels": 32, "word_dim": 32,
                                  "text_hidden": 64, "text_projection": 32,
                                  "loss": "non_saturating", "pretrain_steps": 300,
                                  "pretrain_batch_size": 128},
              epochs=150, batch_size=64, lr=2e-4,
              players={"text_encoder": PlayerSettings(lr_scale=10.0),
                       "generator": PlayerSettings(betas=(0.5, 0.999)),
                       "discriminator": PlayerSettings(betas=(0.5, 0.999))}),
    # --- adversarial models (part 3): progressive growing and style-based generators ----
    # Adam with beta = (0, 0.99) as in both papers; data in [-1, 1], both G end in tanh.
    # Equalised weights are N(0, 1), so Adam's lr is a relative step: the critics need
    # 5e-3 (StyleGAN) to 1e-2 (ProGAN) to keep up in a few thousand steps, and G runs at
    # 2e-3 (lr_scale 0.4 / 0.2); at equal rates G collapses. StyleGAN's R1 is lazy (every
    # 4th critic step, weighted 4 gamma), which is most of why 70 epochs fit.
    # Times: CPU seconds of one core (OMP_NUM_THREADS=1, /usr/bin/time, `minigen train NAME`
    # with evaluation and figures): progan 229 s (FD 19, floor 15), stylegan 187 s (FD 35,
    # floor 14; 20-35 over seeds); before these settings 269 s (FD 166) and 257 s (FD 288).
    ModelSpec("progan", "adversarial", "minigen.models.adversarial.progan:ProGAN",
              "Progressive GAN grown 2x2 -> 4x4 -> 8x8 with fade-ins; WGAN-GP + drift, "
              "pixel-norm, minibatch stddev, equalised lr, EMA generator",
              "digits-signed", {"latent_dim": 32, "channels": 32, "fade_steps": 500,
                                "stabilise_steps": 500, "gradient_penalty_weight": 10.0,
                                "drift_weight": 0.001, "ema_decay": 0.995},
              epochs=90, batch_size=32, lr=1e-2,
              players={"generator": PlayerSettings(lr_scale=0.2, betas=(0.0, 0.99)),
                       "discriminator": PlayerSettings(betas=(0.0, 0.99))}),
    ModelSpec("stylegan", "adversarial", "minigen.models.adversarial.stylegan:StyleGAN",
              "StyleGAN at 8x8: 4-layer mapping (lr x 0.01), constant 4x4 input, modulated/"
              "demodulated convs (StyleGAN 2) for styles, noise inputs, style mixing 0.9, "
              "truncation, EMA generator, tanh output; non-saturating + lazy R1",
              "digits-signed", {"latent_dim": 32, "w_dim": 32, "mapping_layers": 4,
                                "mapping_lr_multiplier": 0.01, "channels": 32,
                                "mixing_probability": 0.9, "r1_weight": 0.1,
                                "r1_interval": 4, "w_average_decay": 0.995,
                                "ema_decay": 0.995, "truncation": 1.0},
              epochs=70, batch_size=32, lr=5e-3,
              players={"generator": PlayerSettings(lr_scale=0.4, betas=(0.0, 0.99)),
                       "discriminator": PlayerSettings(betas=(0.0, 0.99))}),
]

REGISTRY: dict[str, ModelSpec] = {spec.name: spec for spec in _SPECS}


def get_spec(name: str) -> ModelSpec:
    """The spec registered under ``name``; an unknown name lists the valid ones."""
    try:
        return REGISTRY[name]
    except KeyError:
        valid = ", ".join(sorted(REGISTRY)) or "(none registered)"
        raise ValueError(f"unknown model {name!r}; valid models: {valid}") from None


def build(name: str, data_shape: tuple[int, ...], rng: Any, **overrides: Any) -> Any:
    """Instantiate model ``name`` for examples of ``data_shape`` with its default hparams."""
    spec = get_spec(name)
    hparams = {**spec.hparams, **overrides}
    return spec.model_class()(tuple(data_shape), rng=rng, **hparams)


def hyperparameters(spec: ModelSpec) -> dict[str, Any]:
    """Every hyper-parameter ``--set`` may change, with its default: the constructor's
    keyword arguments (all but ``data_shape``, ``rng`` and the data-given ``num_classes``),
    the registry's value where it sets one."""
    signature = inspect.signature(spec.model_class().__init__)
    keywords = {name: parameter.default for name, parameter in signature.parameters.items()
                if name not in ("self", "data_shape", "rng", "num_classes")
                and parameter.kind in (parameter.KEYWORD_ONLY, parameter.POSITIONAL_OR_KEYWORD)}
    return {**keywords, **spec.hparams}


def _type_name(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        inner = {type(item).__name__ for item in value}
        return f"list of {inner.pop()}" if len(inner) == 1 else "list"
    return type(value).__name__


def _fits(value: Any, default: Any) -> bool:
    """Does ``value`` have the type of ``default`` (an int is a float; a bool is neither)?"""
    if default is None or default is inspect.Parameter.empty:
        return True  # optional or required without a default: the model checks it
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(default, (list, tuple)):
        if not isinstance(value, (list, tuple)):
            return False
        kinds = {type(item) for item in default}
        return len(kinds) != 1 or all(_fits(item, default[0]) for item in value)
    return isinstance(value, type(default))


def _in_range(value: Any, default: Any) -> bool:
    """Sizes stay positive and rates non-negative: a number (or list of numbers) whose
    default is positive may not be zero or negative (an int) or negative (a float)."""
    if isinstance(value, (list, tuple)):
        defaults = default if isinstance(default, (list, tuple)) and default else [None]
        return all(_in_range(item, defaults[0]) for item in value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return True
    if isinstance(value, float) and not math.isfinite(value):
        return False
    if isinstance(default, (int, float)) and not isinstance(default, bool) and default > 0:
        return value > 0 if isinstance(default, int) else value >= 0
    if isinstance(default, (int, float)) and not isinstance(default, bool) and default == 0:
        return value >= 0
    return True


def check_overrides(spec: ModelSpec, overrides: dict[str, Any]) -> None:
    """Refuse ``--set`` values the model cannot take, with one line that says why.

    The key must be one of the model's hyper-parameters (the message lists them with
    their defaults); the value must have the default's type (2.5 is no int, "abc" no
    list); sizes must stay positive and rates non-negative (see ``_in_range``).
    """
    known = hyperparameters(spec)
    for key, value in overrides.items():
        if key not in known:
            listed = ", ".join(f"{name}={default!r}" for name, default in known.items())
            raise ValueError(f"{spec.name} has no hyper-parameter {key!r}; its hyper-parameters "
                             f"are: {listed or '(none)'}")
        default = known[key]
        if not _fits(value, default):
            kind = _type_name(default)
            raise ValueError(f"{spec.name}: {key} must be {'an' if kind[0] in 'aeiou' else 'a'}"
                             f" {kind} like its default {default!r}; got {value!r} "
                             f"({_type_name(value)})")
        if not _in_range(value, default):
            leaf = default[0] if isinstance(default, (list, tuple)) and default else default
            sign = "positive" if isinstance(leaf, int) and leaf > 0 else "non-negative"
            raise ValueError(f"{spec.name}: {key}={value!r} is out of range; it must be "
                             f"{sign} and finite (default {default!r})")
