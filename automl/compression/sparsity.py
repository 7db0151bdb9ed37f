"""How much of each pruned layer to set to zero for a total sparsity.

`uniform` gives every layer the target. `by_size` is the Erdős–Rényi-kernel rule (Evci et
al., "Rigging the Lottery", 2020): a layer keeps a share of its weights proportional to
sum(kernel dims) / prod(kernel dims), so a big 3x3 convolution with many channels loses more
than a small 1x1 projection, for the same number of weights kept in all. A layer the rule
would keep whole is left dense and the rest share what is left.
"""

from __future__ import annotations

import math

SPREADS = ("uniform", "by_size")


def layer_sparsities(kernel_shapes: dict[str, list[tuple[int, ...]]], target: float,
                     spread: str) -> dict[str, float]:
    """Sparsity per layer (0 = left dense) such that the layers' zeros together are `target` of
    their kernels' weights. A layer may have several kernels (an LSTM's input and recurrent ones)."""
    if spread not in SPREADS:
        raise ValueError(f"unknown sparsity spread {spread!r}: expected one of {', '.join(SPREADS)}")
    if spread == "uniform":
        return {name: target for name in kernel_shapes}
    sizes = {name: sum(math.prod(shape) for shape in shapes) for name, shapes in kernel_shapes.items()}
    # How dense each layer is per unit of the common factor.
    density_factor = {name: sum(sum(shape) for shape in shapes) / sizes[name]
                      for name, shapes in kernel_shapes.items()}
    kept_in_all = (1.0 - target) * sum(sizes.values())
    dense: set[str] = set()
    while True:
        sparse = [name for name in sizes if name not in dense]
        weighted = sum(density_factor[name] * sizes[name] for name in sparse)
        if not weighted:
            return {name: 0.0 for name in sizes}
        factor = (kept_in_all - sum(sizes[name] for name in dense)) / weighted
        whole = {name for name in sparse if factor * density_factor[name] >= 1.0}
        if not whole:
            break
        dense |= whole
    return {name: 0.0 if name in dense else 1.0 - factor * density_factor[name] for name in sizes}
