"""Module and Parameter: registration, traversal, state dicts, modes and gradients."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import autograd as ag
from minigen.nn import BatchNorm1d, Linear, Module, Parameter, ReLU, Sequential


class TwoLayer(Module):
    def __init__(self, rng: np.random.Generator) -> None:
        super().__init__()
        self.scale = Parameter(np.ones(3, dtype=np.float32))
        self.encoder = Linear(4, 3, rng=rng)
        self.decoder = Sequential(Linear(3, 5, rng=rng), ReLU(), Linear(5, 2, rng=rng))

    def forward(self, x):
        return self.decoder(self.encoder(x) * self.scale)


def test_named_parameters_follow_assignment_order_with_dotted_names():
    model = TwoLayer(np.random.default_rng(0))
    names = [name for name, _ in model.named_parameters()]
    assert names == ["scale", "encoder.weight", "encoder.bias", "decoder.0.weight",
                     "decoder.0.bias", "decoder.2.weight", "decoder.2.bias"]
    assert [p.shape for p in model.parameters()] == [
        (3,), (3, 4), (3,), (5, 3), (5,), (2, 5), (2,)]


def test_shared_parameter_is_listed_and_counted_once():
    rng = np.random.default_rng(0)
    first, second = Linear(4, 4, rng=rng), Linear(4, 4, rng=rng)
    second.weight = first.weight
    model = Sequential(first, second)
    assert [name for name, _ in model.named_parameters()] == [
        "0.weight", "0.bias", "1.bias"]
    assert model.num_parameters() == 16 + 4 + 4


@given(st.lists(st.integers(1, 6), min_size=2, max_size=5))
def test_num_parameters_of_an_mlp_is_the_sum_of_in_times_out_plus_out(widths):
    rng = np.random.default_rng(0)
    layers = [Linear(a, b, rng=rng) for a, b in zip(widths, widths[1:])]
    expected = sum(a * b + b for a, b in zip(widths, widths[1:]))
    assert Sequential(*layers).num_parameters() == expected


def test_reassigning_an_attribute_unregisters_the_old_parameter():
    layer = Linear(3, 2, rng=np.random.default_rng(0))
    layer.bias = None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]


def test_state_dict_round_trip_reproduces_the_outputs():
    source, target = TwoLayer(np.random.default_rng(0)), TwoLayer(np.random.default_rng(1))
    x = np.random.default_rng(2).standard_normal((6, 4)).astype(np.float32)
    assert not np.allclose(source(x).data, target(x).data)
    target.load_state_dict(source.state_dict())
    np.testing.assert_array_equal(source(x).data, target(x).data)


def test_state_dict_holds_copies_not_views():
    layer = Linear(3, 2, rng=np.random.default_rng(0))
    state = layer.state_dict()
    state["weight"][...] = 123.0
    assert not np.any(layer.weight.data == 123.0)


def test_state_dict_includes_buffers():
    model = Sequential(Linear(3, 4, rng=np.random.default_rng(0)), BatchNorm1d(4))
    assert set(model.state_dict()) == {"0.weight", "0.bias", "1.weight", "1.bias",
                                       "1.running_mean", "1.running_var",
                                       "1.num_batches_tracked"}


def test_load_state_dict_names_missing_and_unexpected_keys():
    layer = Linear(3, 2, rng=np.random.default_rng(0))
    state = layer.state_dict()
    state["extra"] = state.pop("bias")
    with pytest.raises(ValueError, match=r"missing keys \['bias'\].*unexpected keys \['extra'\]"):
        layer.load_state_dict(state)


def test_load_state_dict_names_the_key_and_both_shapes_on_mismatch():
    layer = Linear(3, 2, rng=np.random.default_rng(0))
    state = layer.state_dict()
    state["weight"] = np.zeros((3, 2), dtype=np.float32)
    with pytest.raises(ValueError, match=r"weight has shape \(3, 2\).*\(2, 3\)"):
        layer.load_state_dict(state)


def test_load_state_dict_checks_buffer_shapes():
    norm = BatchNorm1d(3)
    state = norm.state_dict()
    state["running_mean"] = np.zeros(4, dtype=np.float32)
    with pytest.raises(ValueError, match=r"running_mean has shape \(4,\)"):
        norm.load_state_dict(state)


def test_load_state_dict_keeps_the_model_dtype():
    layer = Linear(3, 2, rng=np.random.default_rng(0))
    layer.load_state_dict({k: v.astype(np.float64) for k, v in layer.state_dict().items()})
    assert layer.weight.dtype == np.float32


def test_train_and_eval_reach_every_submodule():
    model = TwoLayer(np.random.default_rng(0))
    assert model.eval() is model
    assert all(not module.training for _, module in model.named_modules())
    model.train()
    assert all(module.training for _, module in model.named_modules())


def test_zero_grad_clears_every_gradient():
    model = TwoLayer(np.random.default_rng(0))
    model(np.ones((2, 4), dtype=np.float32)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_gradients_accumulate_until_zero_grad():
    layer = Linear(3, 1, rng=np.random.default_rng(0))
    x = np.ones((1, 3), dtype=np.float32)
    layer(x).sum().backward()
    once = layer.weight.grad.copy()
    layer(x).sum().backward()
    np.testing.assert_allclose(layer.weight.grad, 2 * once)


def test_astype_converts_parameters_and_float_buffers_but_not_counters():
    model = Sequential(Linear(3, 4, rng=np.random.default_rng(0)), BatchNorm1d(4))
    model.astype(np.float64)
    assert all(p.dtype == np.float64 for p in model.parameters())
    assert model[1].running_mean.dtype == np.float64
    assert model[1].num_batches_tracked.dtype == np.int64


def test_parameter_copies_its_data_and_requires_grad():
    data = np.zeros(3)
    parameter = Parameter(data)
    data[0] = 1.0
    assert parameter.requires_grad and parameter.data[0] == 0.0


def test_assigning_before_super_init_is_a_clear_error():
    class Broken(Module):
        def __init__(self):
            self.weight = Parameter(np.zeros(1))

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Broken()


def test_sequential_applies_modules_in_order_and_indexes():
    rng = np.random.default_rng(0)
    first, second = Linear(3, 4, rng=rng), Linear(4, 2, rng=rng)
    model = Sequential(first, ReLU(), second)
    x = ag.Tensor(rng.standard_normal((5, 3)).astype(np.float32))
    np.testing.assert_array_equal(model(x).data, second(ag.relu(first(x))).data)
    assert model[0] is first and model[-1] is second and len(model) == 3


def test_layers_reject_a_non_generator_rng():
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        Linear(3, 2, rng=0)
