import numpy as np

from automl.data.split import stratified_sample, stratified_split


def test_split_is_stratified_disjoint_and_seeded():
    labels = np.repeat(np.arange(5), [100, 50, 20, 10, 3])
    a = stratified_split(labels, 0.2, 0.2, seed=1)
    b = stratified_split(labels, 0.2, 0.2, seed=1)
    c = stratified_split(labels, 0.2, 0.2, seed=2)
    assert all(np.array_equal(x, y) for x, y in zip((a.train, a.val, a.test), (b.train, b.val, b.test)))
    assert not np.array_equal(a.test, c.test)
    everything = np.concatenate([a.train, a.val, a.test])
    assert len(everything) == len(labels) == len(set(everything.tolist()))
    for part in (a.train, a.val, a.test):
        assert set(labels[part]) == set(range(5))  # even the 3-example class
    assert np.sum(labels[a.test] == 0) == 20


def test_sample_keeps_proportions():
    labels = np.repeat(np.arange(2), [900, 100])
    picked = stratified_sample(labels, 100, seed=0)
    assert len(picked) == 100 and np.sum(labels[picked] == 1) == 10
