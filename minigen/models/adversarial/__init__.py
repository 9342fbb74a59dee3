"""Adversarial models: GAN (with WGAN-GP and PacGAN), DCGAN, conditional GAN, InfoGAN."""
