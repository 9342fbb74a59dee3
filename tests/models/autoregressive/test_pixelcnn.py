"""PixelCNN: its parameter count (its blind spot: test_receptive_fields.py).

Normalisation, sampling, completion, loss and gradcheck are checked with every
autoregressive model in test_explicit_density_properties.py.
"""

import numpy as np

from minigen.models.autoregressive.pixelcnn import PixelCNN


def test_num_parameters_matches_the_layer_by_layer_count():
    c, k1, k, blocks = 5, 5, 3, 3
    model = PixelCNN((1, 8, 8), rng=np.random.default_rng(0), channels=c, first_kernel=k1,
                     kernel_size=k, num_blocks=blocks)
    first = 2 * c * k1 * k1 + 2 * c
    block = (2 * c * c + c) + (c * c * k * k + c) + (c * 2 * c + 2 * c)
    head = (2 * c * 2 * c + 2 * c) + (2 * c + 1)
    assert model.num_parameters() == first + blocks * block + head
