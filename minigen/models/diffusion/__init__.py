"""Diffusion models: the process (schedules, q, posterior, bound), samplers (DDPM, DDIM,
inversion), guidance, denoising networks, and one file per registered model."""
