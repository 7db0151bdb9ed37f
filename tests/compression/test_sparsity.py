import math

import pytest

from automl.compression.sparsity import layer_sparsities

#: The kernels small_cnn (width 32, three blocks of one convolution) prunes on Fashion-MNIST.
SMALL_CNN = {"b0_conv0": [(3, 3, 32, 32)], "b1_proj": [(1, 1, 32, 64)], "b1_conv0": [(3, 3, 32, 64)],
             "b2_proj": [(1, 1, 64, 128)], "b2_conv0": [(3, 3, 64, 128)]}


def zeros_share(shapes, sparsities):
    sizes = {name: sum(math.prod(s) for s in kernels) for name, kernels in shapes.items()}
    return sum(sparsities[name] * sizes[name] for name in sizes) / sum(sizes.values())


def test_uniform_gives_each_layer_the_target():
    assert layer_sparsities(SMALL_CNN, 0.8, "uniform") == {name: 0.8 for name in SMALL_CNN}


@pytest.mark.parametrize("target", [0.5, 0.8, 0.9, 0.97])
def test_by_size_keeps_the_target_in_all_and_prunes_bigger_layers_harder(target):
    sparsities = layer_sparsities(SMALL_CNN, target, "by_size")
    assert zeros_share(SMALL_CNN, sparsities) == pytest.approx(target)
    assert all(0.0 <= s < 1.0 for s in sparsities.values())
    assert sparsities["b2_conv0"] > sparsities["b1_conv0"] > sparsities["b0_conv0"]
    assert sparsities["b2_conv0"] > sparsities["b2_proj"] >= sparsities["b1_proj"]


def test_by_size_leaves_whole_the_layers_it_would_keep_entirely():
    sparsities = layer_sparsities(SMALL_CNN, 0.8, "by_size")
    assert sparsities["b1_proj"] == 0.0, "a 1x1 projection of 2,048 weights stays dense at 80% in all"
    assert zeros_share(SMALL_CNN, sparsities) == pytest.approx(0.8)


def test_a_layer_with_two_kernels_counts_both():
    lstm = {"lstm": [(64, 256), (64, 256)], "dense": [(64, 64)]}
    sparsities = layer_sparsities(lstm, 0.7, "by_size")
    assert zeros_share(lstm, sparsities) == pytest.approx(0.7)


def test_an_unknown_spread_is_named():
    with pytest.raises(ValueError, match="'even'.*uniform, by_size"):
        layer_sparsities(SMALL_CNN, 0.8, "even")
