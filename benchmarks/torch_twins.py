"""Torch twins of minigen's conv, recurrent, GAN and diffusion models (never the package).

Each twin is a loss function of ``(params, x)`` written with torch.nn.functional, where
``params`` maps the minigen model's ``state_dict`` names to torch tensors (weights copied,
masks and BatchNorm running statistics included as buffers). The DCGAN has one loss per
player and its generator apart, as the model does; the DDPM's loss takes the pre-drawn
x_t, t and ε. Reading a twin beside its minigen model shows the same equations; the
benchmark checks that both give the same loss before timing anything. Built from the
model files as they are now: a renamed parameter makes the twin raise a KeyError naming it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

Params = dict[str, torch.Tensor]


def conv(p: Params, name: str, x: torch.Tensor, padding: int | tuple = 0,
         stride: int = 1) -> torch.Tensor:
    """minigen.nn.Conv2d (and MaskedConv2d, whose ``mask`` buffer multiplies the weight)."""
    weight = p[f"{name}.weight"]
    if f"{name}.mask" in p:
        weight = weight * p[f"{name}.mask"]
    return F.conv2d(x, weight, p.get(f"{name}.bias"), stride=stride, padding=padding)


def masked(p: Params, name: str, x: torch.Tensor) -> torch.Tensor:
    """MaskedConv2d: "same" padding, (kh // 2, kw // 2)."""
    kh, kw = p[f"{name}.weight"].shape[2:]
    return conv(p, name, x, padding=(kh // 2, kw // 2))


def bernoulli_nll(x: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """−Σ_ij [x l − softplus(l)], mean over the batch (AutoregressiveImageModel.loss)."""
    return (F.softplus(logits) - x * logits).sum(dim=(1, 2, 3)).mean()


def output_head(p: Params, h: torch.Tensor) -> torch.Tensor:
    return conv(p, "head.output", F.relu(conv(p, "head.hidden", F.relu(h))))


def count(p: Params, prefix: str) -> int:
    """How many children a minigen Sequential named ``prefix`` has."""
    return len({key[len(prefix):].split(".")[0] for key in p if key.startswith(prefix)})


# ----- PixelCNN and Gated PixelCNN ------------------------------------------------------


def pixelcnn_loss(p: Params, x: torch.Tensor) -> torch.Tensor:
    h = masked(p, "first", x)
    for b in range(count(p, "blocks.")):
        block = f"blocks.{b}"
        inner = masked(p, f"{block}.masked", F.relu(conv(p, f"{block}.reduce", F.relu(h))))
        h = h + conv(p, f"{block}.expand", F.relu(inner))
    return bernoulli_nll(x, output_head(p, h))


def gate(pre_activation: torch.Tensor) -> torch.Tensor:
    a, b = pre_activation.chunk(2, dim=1)
    return torch.tanh(a) * torch.sigmoid(b)


def shift_down(x: torch.Tensor) -> torch.Tensor:
    return F.pad(x, (0, 0, 1, 0))[:, :, :x.shape[2]]


def shift_right(x: torch.Tensor) -> torch.Tensor:
    return F.pad(x, (1, 0))[:, :, :, :x.shape[3]]


def gated_layer(p: Params, name: str, v: torch.Tensor,
                h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    s = p[f"{name}.vertical.weight"].shape[3] // 2
    v_pre = conv(p, f"{name}.vertical", F.pad(v, (s, s, s, 0)))
    h_pre = F.conv2d(F.pad(h, (s, 0)), p[f"{name}.horizontal.weight"]
                     * p[f"{name}.horizontal_mask"], p[f"{name}.horizontal.bias"])
    h_pre = h_pre + conv(p, f"{name}.link", shift_down(v_pre))
    return gate(v_pre), conv(p, f"{name}.out", gate(h_pre))


def gated_pixelcnn_loss(p: Params, x: torch.Tensor) -> torch.Tensor:
    v, h = gated_layer(p, "layers.0", x, x)
    for index in range(1, count(p, "layers.")):
        v, update = gated_layer(p, f"layers.{index}", v, h)
        h = h + update
    return bernoulli_nll(x, output_head(p, h))


# ----- Row LSTM and Diagonal BiLSTM ------------------------------------------------------


def lstm_update(gates: torch.Tensor, cell: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    i, f, g, o = gates.chunk(4, dim=1)
    cell = torch.sigmoid(f) * cell + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(cell), cell


def row_lstm_layer(p: Params, name: str, u: torch.Tensor) -> torch.Tensor:
    n, channels, height, width = u.shape
    from_input = masked(p, f"{name}.input_to_state", u)
    hidden = cell = u.new_zeros((n, channels, 1, width))
    rows = []
    for r in range(height):
        gates = from_input[:, :, r:r + 1] + conv(p, f"{name}.state_to_state", hidden,
                                                 padding=(0, 1))
        hidden, cell = lstm_update(gates, cell)
        rows.append(hidden)
    return torch.cat(rows, dim=2)


def row_lstm_loss(p: Params, x: torch.Tensor) -> torch.Tensor:
    u = masked(p, "first", x)
    for index in range(count(p, "layers.")):
        u = u + row_lstm_layer(p, f"layers.{index}", u)
    return bernoulli_nll(x, output_head(p, u))


def skew(x: torch.Tensor) -> torch.Tensor:
    n, c, h, w = x.shape
    flat = F.pad(x, (0, h)).reshape(n, c, h * (w + h))
    return flat[:, :, :h * (w + h - 1)].reshape(n, c, h, w + h - 1)


def unskew(x: torch.Tensor, width: int) -> torch.Tensor:
    n, c, h, skewed_width = x.shape
    flat = F.pad(x.reshape(n, c, h * skewed_width), (0, h))
    return flat.reshape(n, c, h, width + h)[:, :, :, :width]


def diagonal_lstm(p: Params, name: str, u: torch.Tensor) -> torch.Tensor:
    n, channels, height, width = u.shape
    skewed = skew(conv(p, f"{name}.input_to_state", u))
    hidden = cell = u.new_zeros((n, channels, height, 1))
    columns = []
    for c in range(skewed.shape[3]):
        above_and_left = F.pad(hidden, (0, 0, 1, 0))
        gates = skewed[:, :, :, c:c + 1] + conv(p, f"{name}.state_to_state", above_and_left)
        hidden, cell = lstm_update(gates, cell)
        columns.append(hidden)
    return unskew(torch.cat(columns, dim=3), width)


def diagonal_bilstm_layer(p: Params, name: str, u: torch.Tensor) -> torch.Tensor:
    left = diagonal_lstm(p, f"{name}.left_to_right", u)
    right = diagonal_lstm(p, f"{name}.right_to_left", u.flip(3)).flip(3)
    return shift_right(left) + shift_down(right)


def diagonal_bilstm_loss(p: Params, x: torch.Tensor) -> torch.Tensor:
    u = diagonal_bilstm_layer(p, "layers.0", masked(p, "first", x))
    for index in range(1, count(p, "layers.")):
        u = u + diagonal_bilstm_layer(p, f"layers.{index}", u)
    return bernoulli_nll(x, output_head(p, u))


# ----- VQ-VAE (gradient codebook, BCE reconstruction) and the VAE ------------------------


def vqvae_loss(p: Params, x: torch.Tensor, beta: float) -> torch.Tensor:
    """ℓ(x, g(z_q)) + Σ‖sg(z_e) − e‖² + β Σ‖z_e − sg(e)‖², batch means."""
    h = F.relu(conv(p, "encoder.0", x, padding=1))
    h = F.relu(conv(p, "encoder.2", h, padding=1, stride=2))
    z_e = conv(p, "encoder.4", h).permute(0, 2, 3, 1)
    codebook = p["quantizer.weight"]
    flat = z_e.detach().reshape(-1, z_e.shape[-1])
    scores = (codebook.detach() ** 2).sum(dim=1)[None, :] - 2 * flat @ codebook.detach().T
    codes = codebook[scores.argmin(dim=1)].reshape(z_e.shape)
    codebook_loss = ((z_e.detach() - codes) ** 2).sum(dim=-1)
    commitment = ((z_e - codes.detach()) ** 2).sum(dim=-1)
    quantized = (z_e + (codes - z_e).detach()).permute(0, 3, 1, 2)
    h = F.relu(conv(p, "decoder.0", quantized, padding=1))
    h = F.relu(F.conv_transpose2d(h, p["decoder.2.weight"], p["decoder.2.bias"], stride=2,
                                  padding=1))
    logits = conv(p, "decoder.4", h, padding=1)
    reconstruction = (F.softplus(logits) - x * logits).reshape(len(x), -1).sum(dim=1).mean()
    return (reconstruction + beta * commitment.sum(dim=(1, 2)).mean()
            + codebook_loss.sum(dim=(1, 2)).mean())


def mlp(p: Params, prefix: str, h: torch.Tensor) -> torch.Tensor:
    layers = sorted(int(key.split(".")[1]) for key in p
                    if key.startswith(prefix) and key.endswith(".weight"))
    for position, index in enumerate(layers):
        h = F.linear(h, p[f"{prefix}{index}.weight"], p[f"{prefix}{index}.bias"])
        if position < len(layers) - 1:
            h = F.relu(h)
    return h


def vae_loss(p: Params, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """−ELBO with z = μ + σ ε, Bernoulli decoder, closed-form KL, mean over the batch."""
    flat = x.reshape(len(x), -1)
    mean, log_scale = mlp(p, "encoder.", flat).chunk(2, dim=-1)
    logits = mlp(p, "decoder.", mean + log_scale.exp() * noise)
    reconstruction = (flat * logits - F.softplus(logits)).sum(dim=-1)
    kl = 0.5 * (mean**2 + (2 * log_scale).exp() - 1 - 2 * log_scale).sum(dim=-1)
    return (kl - reconstruction).mean()


# ----- DCGAN (transposed convs, BatchNorm in training mode, the non-saturating game) -----


def batch_norm(p: Params, name: str, x: torch.Tensor) -> torch.Tensor:
    """minigen.nn.BatchNorm2d in training mode: batch statistics, running averages updated
    in place (momentum 0.1, unbiased variance), eps 1e-5."""
    return F.batch_norm(x, p[f"{name}.running_mean"], p[f"{name}.running_var"],
                        p[f"{name}.weight"], p[f"{name}.bias"], training=True, momentum=0.1,
                        eps=1e-5)


def conv_transpose(p: Params, name: str, x: torch.Tensor, stride: int,
                   padding: int) -> torch.Tensor:
    """minigen.nn.ConvTranspose2d: weight (in, out, kh, kw), as torch's."""
    return F.conv_transpose2d(x, p[f"{name}.weight"], p.get(f"{name}.bias"), stride=stride,
                              padding=padding)


def dcgan_generate(p: Params, z: torch.Tensor) -> torch.Tensor:
    """G(z): (N, latent) as (N, latent, 1, 1) -> 2×2 -> 4×4 -> (N, 1, 8, 8) in [−1, 1]."""
    h = z.reshape(len(z), -1, 1, 1)
    h = F.relu(batch_norm(p, "generator.1", conv_transpose(p, "generator.0", h, 1, 0)))
    h = F.relu(batch_norm(p, "generator.4", conv_transpose(p, "generator.3", h, 2, 1)))
    return torch.tanh(conv_transpose(p, "generator.6", h, 2, 1))


def dcgan_critic(p: Params, x: torch.Tensor) -> torch.Tensor:
    """d(x): the trunk (strided convs, LeakyReLU 0.2, BN on the second) and the head, (N,)."""
    h = F.leaky_relu(conv(p, "trunk.0", x, padding=1, stride=2), 0.2)
    h = F.leaky_relu(batch_norm(p, "trunk.3", conv(p, "trunk.2", h, padding=1, stride=2)), 0.2)
    return conv(p, "head", h).reshape(-1)


def bce_with_logits(logits: torch.Tensor, target: float) -> torch.Tensor:
    """mean softplus(l) − y·l (minigen.nn.losses.bce_with_logits)."""
    return (F.softplus(logits) - logits * target).mean()


def dcgan_discriminator_loss(p: Params, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """−E log D(x) − E log(1 − D(G(z))); real and fake go through D separately, so each
    BatchNorm batch is all real or all fake (as the model does)."""
    return bce_with_logits(dcgan_critic(p, real), 1.0) + bce_with_logits(dcgan_critic(p, fake),
                                                                           0.0)


def dcgan_generator_loss(p: Params, fake: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss −E log D(G(z))."""
    return bce_with_logits(dcgan_critic(p, fake), 1.0)


# ----- the DDPM U-Net (GroupNorm, SiLU, step embedding, one self-attention block) ---------

GROUPS = 8  # UNet's GroupNorm groups: a constructor default, not in the state_dict
MAX_PERIOD = 10000.0  # minigen.nn.timestep_embedding's


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """e(t) = [cos(t ω_i), sin(t ω_i)], ω_i = max_period^(−i/h), in float64 then float32."""
    half = dim // 2
    frequencies = MAX_PERIOD ** (-torch.arange(half, dtype=torch.float64) / half)
    angles = t.to(torch.float64)[:, None] * frequencies[None]
    return torch.cat([torch.cos(angles), torch.sin(angles)], dim=1).float()


def linear(p: Params, name: str, x: torch.Tensor) -> torch.Tensor:
    return F.linear(x, p[f"{name}.weight"], p.get(f"{name}.bias"))


def conditioning(p: Params, name: str, t: torch.Tensor) -> torch.Tensor:
    """e = Linear(SiLU(Linear(sinusoid(t)))): (N,) steps -> (N, embed)."""
    dim = p[f"{name}.mlp.0.weight"].shape[1]
    return linear(p, f"{name}.mlp.2", F.silu(linear(p, f"{name}.mlp.0",
                                                    timestep_embedding(t, dim))))


def group_norm(p: Params, name: str, x: torch.Tensor) -> torch.Tensor:
    return F.group_norm(x, GROUPS, p[f"{name}.weight"], p[f"{name}.bias"], eps=1e-5)


def residual_block(p: Params, name: str, x: torch.Tensor,
                   embedding: torch.Tensor) -> torch.Tensor:
    """x + conv(SiLU(GN(conv(SiLU(GN(x))) + W SiLU(e)))), a 1×1 skip conv if it has one."""
    h = conv(p, f"{name}.conv1", F.silu(group_norm(p, f"{name}.norm1", x)), padding=1)
    h = h + linear(p, f"{name}.embed", F.silu(embedding))[:, :, None, None]
    h = conv(p, f"{name}.conv2", F.silu(group_norm(p, f"{name}.norm2", h)), padding=1)
    skip = conv(p, f"{name}.skip", x) if f"{name}.skip.weight" in p else x
    return skip + h


def attention_block(p: Params, name: str, x: torch.Tensor) -> torch.Tensor:
    """x + MHA(GN(x)) with the H·W positions as tokens; one head (AttentionBlock's
    default), so softmax(q kᵀ / √C) v."""
    n, channels, height, width = x.shape
    tokens = group_norm(p, f"{name}.norm", x).reshape(n, channels, height * width).transpose(1, 2)
    query, key, value = F.linear(tokens, p[f"{name}.attention.in_proj_weight"],
                                 p[f"{name}.attention.in_proj_bias"]).chunk(3, dim=-1)
    attended = linear(p, f"{name}.attention.out_proj",
                      F.scaled_dot_product_attention(query, key, value))
    return x + attended.transpose(1, 2).reshape(n, channels, height, width)


def unet(p: Params, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """ε̂(x_t, t): two resolutions, skips concatenated on the way up (denoisers.UNet)."""
    embedding = conditioning(p, "network.conditioning", t)
    high = residual_block(p, "network.down_high", conv(p, "network.conv_in", x, padding=1),
                          embedding)
    low = residual_block(p, "network.down_low",
                         conv(p, "network.downsample", high, padding=1, stride=2), embedding)
    h = residual_block(p, "network.middle", low, embedding)
    if "network.attention.norm.weight" in p:
        h = attention_block(p, "network.attention", h)
    h = residual_block(p, "network.up_low", torch.cat([h, low], dim=1), embedding)
    h = conv(p, "network.upsample", F.interpolate(h, scale_factor=2, mode="nearest"), padding=1)
    h = residual_block(p, "network.up_high", torch.cat([h, high], dim=1), embedding)
    return conv(p, "network.conv_out", F.silu(group_norm(p, "network.norm_out", h)), padding=1)


def ddpm_loss(p: Params, x_t: torch.Tensor, t: torch.Tensor,
              noise: torch.Tensor) -> torch.Tensor:
    """L_simple = mean ‖ε − ε_θ(x_t, t)‖² over the batch and pixels."""
    error = unet(p, x_t, t) - noise
    return (error * error).mean()
