"""Tiles cover every pixel, stay inside their region, and stitch back without seams."""

import numpy as np
import pytest

from automl.tasks.image_segmentation.tiling import Box, blend_weights, region_grid, starts, stitch, tile_boxes


@pytest.mark.parametrize("length,tile,overlap", [(64, 32, 0), (100, 32, 8), (130, 64, 48), (32, 32, 16)])
def test_starts_cover_the_side_and_end_at_the_edge(length, tile, overlap):
    offsets = starts(length, tile, overlap)
    covered = np.zeros(length, bool)
    for s in offsets:
        covered[s:s + tile] = True
    assert covered.all() and offsets[0] == 0 and offsets[-1] == length - tile
    assert all(b - a <= tile - overlap for a, b in zip(offsets, offsets[1:]))


def test_bad_overlap_is_rejected():
    with pytest.raises(ValueError, match="overlap"):
        starts(64, 32, 32)


def test_regions_partition_the_image_and_tiles_stay_inside():
    regions = region_grid(0, 300, 200, 64)
    area = np.zeros((300, 200), int)
    for region in regions:
        area[region.top:region.bottom, region.left:region.right] += 1
        for box in tile_boxes(region, 32, 16):
            assert region.top <= box.top and box.bottom <= region.bottom
            assert region.left <= box.left and box.right <= region.right
    assert (area == 1).all()
    assert not any(a.overlaps(b) for i, a in enumerate(regions) for b in regions[i + 1:])


def test_box_overlap():
    assert Box(0, 0, 0, 10, 10).overlaps(Box(0, 9, 9, 20, 20))
    assert not Box(0, 0, 0, 10, 10).overlaps(Box(0, 10, 0, 20, 10))
    assert not Box(0, 0, 0, 10, 10).overlaps(Box(1, 0, 0, 10, 10))


@pytest.mark.parametrize("overlap", [0, 8, 24])
def test_stitching_an_identity_model_returns_the_image(overlap):
    # Any misplaced tile, off-by-one offset or unnormalized blend shows up as a seam.
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 255, (90, 131, 3)).astype(np.float32)
    calls = []

    def identity(tiles):
        calls.append(len(tiles))
        assert tiles.shape[1:] == (32, 32, 3)
        return tiles

    out = stitch(identity, image, 32, overlap, batch=7)
    np.testing.assert_allclose(out, image, rtol=1e-5)
    assert sum(calls) == len(starts(90, 32, overlap)) * len(starts(131, 32, overlap))


def test_stitching_pads_images_smaller_than_a_tile():
    image = np.arange(20 * 25, dtype=np.float32).reshape(20, 25, 1)
    out = stitch(lambda t: t * 2, image, 32, 0)
    np.testing.assert_allclose(out, image * 2)


def test_blend_weights_favour_tile_centres():
    weights = blend_weights(32, 16)
    assert weights[16, 16] > weights[0, 16] > weights[0, 0] > 0
    assert weights[16, 16] == weights[12, 12]  # flat beyond the overlap


def test_mask_names_do_not_overwrite_each_other():
    from automl.tasks.image_segmentation.bundle import mask_names

    assert mask_names(["a/cells.tif", "b/cells.tif", "c/other.png"]) == [
        "a_cells_mask.png", "b_cells_mask.png", "other_mask.png"]
    assert mask_names(["x/a/cells.tif", "y/a/cells.tif"]) == ["a_cells_mask.png", "a_cells_2_mask.png"]
