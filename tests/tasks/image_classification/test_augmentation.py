"""The batch augmenter: each image of a batch gets its own flip and shift, and nothing else."""

import numpy as np

from automl.tasks.image_classification.task import batch_augmenter


def _variants(image, pad):
    """Every crop of the reflect-padded image, mirrored or not, by (mirrored, top, left)."""
    height, width, _ = image.shape
    out = {}
    for mirrored in (False, True):
        source = image[:, ::-1] if mirrored else image
        padded = np.pad(source, [(pad, pad), (pad, pad), (0, 0)], mode="reflect")
        for top in range(2 * pad + 1):
            for left in range(2 * pad + 1):
                out[(mirrored, top, left)] = padded[top:top + height, left:left + width]
    return out


def test_each_image_is_a_flipped_or_shifted_copy_of_itself_with_its_label():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, size=(16, 24, 24, 1)).astype(np.float32)
    labels = np.arange(16)
    augment = batch_augmenter((24, 24, 1), flip=True, shift=True)
    seen = set()
    for _ in range(8):
        out, out_labels = augment(images, labels)
        out = out.numpy()
        np.testing.assert_array_equal(out_labels, labels)
        assert out.shape == images.shape
        for i in range(len(images)):
            matches = [key for key, variant in _variants(images[i], 2).items() if np.array_equal(variant, out[i])]
            assert matches, f"image {i} is not a flip/shift of its input"
            seen.add(matches[0])
    # Draws are per image: both orientations and many of the 25 offsets occur.
    assert {key[0] for key in seen} == {False, True}
    assert len({key[1:] for key in seen}) >= 15


def test_flips_alone_keep_the_pixels_in_place_or_mirror_them():
    images = np.arange(2 * 8 * 8 * 3, dtype=np.float32).reshape(2, 8, 8, 3)
    out, _ = batch_augmenter((8, 8, 3), flip=True, shift=False)(images, np.zeros(2))
    for i in range(2):
        assert np.array_equal(out[i], images[i]) or np.array_equal(out[i], images[i][:, ::-1])


def test_erasing_zeroes_one_square_per_image_and_keeps_the_rest():
    height = width = 28
    images = np.full((32, height, width, 1), 200.0, dtype=np.float32)
    out, _ = batch_augmenter((height, width, 1), flip=False, shift=False, erase=True)(images, np.zeros(32))
    out = out.numpy()[..., 0]
    assert set(np.unique(out)) <= {0.0, 200.0}
    sides = []
    for image in out:
        rows, cols = np.nonzero(image == 0)
        assert len(rows), "an image was not erased"
        # One axis-aligned square (clipped where it hangs over an edge), at most 7 pixels wide.
        box = image[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
        assert (box == 0).all()
        sides.append(max(rows.max() - rows.min(), cols.max() - cols.min()) + 1)
    assert max(sides) == 7 and min(sides) <= 7
    # Centres are drawn per image.
    assert len({tuple(np.argwhere(image == 0)[0]) for image in out}) > 8
