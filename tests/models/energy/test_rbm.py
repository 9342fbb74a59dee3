"""Properties of the binary RBM, checked against brute-force enumeration of its states."""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
from minigen.data import bars_and_stripes_patterns, get_dataset
from minigen.models.base import PlayerSettings
from minigen.models.energy.rbm import RBM, binary_states

# The RBM's one player as the registry trains it: SGD with momentum 0.5 on the CD surrogate.
CD_SGD = {"rbm": PlayerSettings(optimizer="sgd", momentum=0.5)}


def _all_states(n):
    return np.array(list(itertools.product([0.0, 1.0], repeat=n)))


def _rbm(num_visible, num_hidden, seed=0, scale=1.0, **hparams):
    rng = np.random.default_rng(seed)
    model = RBM((num_visible,), rng=rng, hidden=num_hidden, **hparams)
    model.astype(np.float64)
    model.weight.data = scale * rng.standard_normal((num_visible, num_hidden))
    model.visible_bias.data = scale * rng.standard_normal(num_visible)
    model.hidden_bias.data = scale * rng.standard_normal(num_hidden)
    return model


def _energy(model, v, h):
    W, b, c = model.weight.data, model.visible_bias.data, model.hidden_bias.data
    return -(v @ b) - (h @ c) - v @ W @ h  # E(v, h) = −bᵀv − cᵀh − vᵀWh


def _brute_log_z(model):
    visible, hidden = _all_states(model.num_visible), _all_states(model.num_hidden)
    energies = [_energy(model, v, h) for v in visible for h in hidden]
    return np.logaddexp.reduce(-np.array(energies))


def _brute_log_likelihood(model, data):
    hidden = _all_states(model.num_hidden)
    log_unnormalised = [np.logaddexp.reduce([-_energy(model, v, h) for h in hidden]) for v in data]
    return np.mean(log_unnormalised) - _brute_log_z(model)


@given(seed=st.integers(0, 2**16), num_visible=st.integers(1, 5), num_hidden=st.integers(1, 4))
def test_free_energy_is_minus_log_sum_over_hidden_states_of_exp_minus_energy(
        seed, num_visible, num_hidden):
    model = _rbm(num_visible, num_hidden, seed)
    v = _all_states(num_visible)
    hidden = _all_states(num_hidden)
    expected = [-np.logaddexp.reduce([-_energy(model, row, h) for h in hidden]) for row in v]
    assert np.allclose(model.free_energy(v).data, expected, atol=1e-10)
    h = np.random.default_rng(seed).integers(0, 2, (len(v), num_hidden)).astype(float)
    assert np.allclose(model.energy(v, h), [_energy(model, a, b) for a, b in zip(v, h)])


@pytest.mark.parametrize("num_visible,num_hidden", [(5, 3), (3, 5), (4, 4)])
def test_exact_log_partition_equals_brute_force_over_all_states(num_visible, num_hidden):
    model = _rbm(num_visible, num_hidden, seed=num_visible)
    assert model.log_partition() == pytest.approx(_brute_log_z(model), abs=1e-9)


def test_probabilities_of_all_visible_states_sum_to_one():
    model = _rbm(6, 4, seed=1)
    assert np.exp(model.log_prob(_all_states(6))).sum() == pytest.approx(1.0, abs=1e-9)
    assert model.metrics(_all_states(6))["log_z_exact"] == 1.0


def test_binary_states_enumerates_each_vector_once_in_chunks():
    states = binary_states(5)
    assert len({tuple(s) for s in states}) == 32
    assert np.array_equal(np.concatenate([binary_states(5, 0, 7), binary_states(5, 7)]), states)


def test_conditionals_match_the_joint_distribution():
    model = _rbm(3, 2, seed=2)
    v = np.array([[1.0, 0.0, 1.0]])
    hidden = _all_states(2)
    joint = np.exp([-_energy(model, v[0], h) for h in hidden])
    p_h1 = (joint[:, None] * hidden).sum(axis=0) / joint.sum()  # p(h_j = 1 | v)
    assert np.allclose(model.hidden_probs(v)[0], p_h1)
    h = np.array([[0.0, 1.0]])
    visible = _all_states(3)
    joint = np.exp([-_energy(model, row, h[0]) for row in visible])
    assert np.allclose(model.visible_probs(h)[0], (joint[:, None] * visible).sum(0) / joint.sum())


def test_ais_estimate_is_within_a_tenth_of_a_nat_of_exact_log_partition():
    model = _rbm(12, 8, seed=3, scale=0.5)
    estimate = model.ais_log_partition(np.random.default_rng(0), num_chains=200, num_betas=500)
    assert estimate == pytest.approx(model.log_partition(), abs=0.1)


def test_large_layers_refuse_exact_log_partition_and_fall_back_to_ais():
    model = RBM((21,), rng=np.random.default_rng(0), hidden=21)
    with pytest.raises(ValueError, match="ais_log_partition"):
        model.log_partition()
    assert model.log_z_method == "ais"
    x = np.random.default_rng(1).integers(0, 2, (3, 21)).astype(np.float32)
    metrics = model.metrics(x, np.random.default_rng(2))
    assert metrics["log_z_exact"] == 0.0
    # small random weights: log Z ≈ (V + H) log 2, which AIS must find
    assert metrics["log_z"] == pytest.approx(42 * np.log(2), abs=0.05)


def test_cd_infinity_surrogate_gradient_is_the_exact_log_likelihood_gradient():
    model = _rbm(4, 3, seed=4)
    data = np.array([[1.0, 0, 1, 0], [1, 1, 0, 0], [0, 0, 1, 1]])
    visible = _all_states(4)
    probs = np.exp(model.log_prob(visible))  # p(v), held fixed: the model's negatives
    surrogate = model.free_energy(data).mean() - (model.free_energy(visible) * probs).sum()
    params = model.parameters()
    analytic = ag.grad(surrogate, params)
    eps = 1e-6
    for param, gradient in zip(params, analytic):
        for k in range(param.size):
            flat = param.data.reshape(-1)
            saved = flat[k]
            flat[k] = saved + eps
            upper = _brute_log_likelihood(model, data)
            flat[k] = saved - eps
            lower = _brute_log_likelihood(model, data)
            flat[k] = saved
            # the surrogate is minimised: its gradient is minus the likelihood's
            assert -gradient.data.reshape(-1)[k] == pytest.approx((upper - lower) / (2 * eps),
                                                                  abs=1e-6)


def test_cd_infinity_step_increases_the_log_likelihood():
    model = _rbm(4, 3, seed=5)
    data = np.array([[1.0, 1, 0, 0], [0, 0, 1, 1]])
    visible = _all_states(4)
    before = _brute_log_likelihood(model, data)
    for _ in range(5):
        probs = np.exp(model.log_prob(visible))
        surrogate = model.free_energy(data).mean() - (model.free_energy(visible) * probs).sum()
        for param, gradient in zip(model.parameters(), ag.grad(surrogate, model.parameters())):
            param.data -= 0.1 * gradient.data
    assert _brute_log_likelihood(model, data) > before + 0.1


def test_cd1_on_bars_and_stripes_increases_the_log_likelihood():
    x, _ = get_dataset("bars-and-stripes-3", "train")
    patterns = bars_and_stripes_patterns(3).astype(np.float64)
    rng = np.random.default_rng(0)
    model = RBM((1, 3, 3), rng=rng, hidden=16)
    model.build_optimizers(0.5, CD_SGD)
    before = model.log_prob(patterns).mean()
    for _ in range(300):
        model.train_step(x[rng.integers(0, len(x), 32)], rng)
    after = model.log_prob(patterns).mean()
    # uniform over 512 images: −6.24 nats; the data's own entropy: log 14 = 2.64 nats
    assert before == pytest.approx(-9 * np.log(2), abs=0.05)
    assert after > before + 1.5


def test_persistent_chains_carry_over_between_updates_and_cd_chains_do_not():
    x = np.random.default_rng(0).integers(0, 2, (8, 6)).astype(np.float32)
    for persistent in (False, True):
        model = RBM((6,), rng=np.random.default_rng(1), hidden=3, num_chains=5,
                    persistent=persistent)
        model.build_optimizers(0.05, CD_SGD)
        chains = model.chains.copy()
        model.train_step(x, np.random.default_rng(2))
        assert model.chains.shape == (5, 6)
        assert np.array_equal(model.chains, chains) != persistent


def test_base_rate_is_the_mean_of_every_example_seen():
    model = RBM((4,), rng=np.random.default_rng(0), hidden=2)
    model.build_optimizers(0.05, CD_SGD)
    batches = [np.random.default_rng(seed).integers(0, 2, (n, 4)).astype(np.float32)
               for seed, n in ((0, 3), (1, 5))]
    for batch in batches:
        model.train_step(batch, np.random.default_rng(0))
    assert np.allclose(model.base_rate, np.concatenate(batches).mean(axis=0))


def test_gibbs_chain_and_sample_give_binary_images():
    model = RBM((1, 2, 3), rng=np.random.default_rng(0), hidden=4)
    frames = model.gibbs_chain(np.zeros((5, 1, 2, 3)), 6, np.random.default_rng(1), every=2)
    assert frames.shape == (4, 5, 1, 2, 3)
    assert np.array_equal(frames[0], np.zeros((5, 1, 2, 3)))
    samples = model.sample(7, np.random.default_rng(2), steps=3)
    assert samples.shape == (7, 1, 2, 3)
    assert set(np.unique(samples)) <= {0.0, 1.0}
