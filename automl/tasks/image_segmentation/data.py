"""Image segmentation data: image/mask pairs, cut into tiles and split without leaks.

Sources: an `images/` folder with a `masks/` folder matched by file stem, one
image file with one mask file (`data.mask_path`), an .npz with `images` and
`masks` arrays, or `(images, masks)` arrays through the API. Masks hold
class indices, instance ids (`data.instance_masks`), or values or colours
named in a class table (`data.classes`).

The split is made before tiling, on whole images when there are enough of
them and otherwise on a grid of regions of each image, so two tiles that
share pixels are always on the same side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from automl.data.files import IMAGE_SUFFIXES, is_hidden, read_npz
from automl.data.images import read_image
from automl.errors import DataError
from automl.data.split import SplitParts
from automl.tasks.image_segmentation.tiling import Box, pad_to, region_grid, tile_boxes

SUFFIXES = (*IMAGE_SUFFIXES, ".tif", ".tiff")
#: With at least this many images the split keeps whole images together.
MIN_IMAGES_TO_SPLIT_BY_IMAGE = 10
#: Splitting by region aims for at least this many regions in all.
MIN_REGIONS = 12
MAX_AUTO_TILE = 128


@dataclass
class TileSet:
    """One part of the split: tiles, their masks, and where each was cut from."""

    images: np.ndarray  # (N, T, T, C) pixels as read
    masks: np.ndarray  # (N, T, T) class indices
    boxes: list[Box]

    def __len__(self) -> int:
        return len(self.masks)

    def take(self, indices) -> "TileSet":
        indices = np.asarray(indices, dtype=np.int64)
        return TileSet(self.images[indices], self.masks[indices], [self.boxes[i] for i in indices])


@dataclass
class SegmentationData(SplitParts):
    """Whole images and masks, the regions each part owns, and their tiles."""

    class_names: list[str]
    images: list[np.ndarray]  # (H, W, C) each, padded to at least one tile
    masks: list[np.ndarray]  # (H, W) class indices
    names: list[str]
    tile: int
    overlap: int
    source: str
    split_method: str
    regions: dict[str, list[Box]]
    train: TileSet
    val: TileSet
    test: TileSet
    #: Pixel values mapped to 0..1 inside the model (1st and 99.8th percentile of training pixels).
    intensity_range: tuple[float, float] = (0.0, 255.0)
    sizes: list[tuple[int, int]] = field(default_factory=list)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.tile, self.tile, int(self.images[0].shape[-1])


# ---------------------------------------------------------------- reading files


def _as_hwc(image: np.ndarray, where: str) -> np.ndarray:
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[-1] not in (1, 3, 4):
        raise DataError(f"{where}: expected an image shaped (H, W) or (H, W, C) with C in 1, 3, 4. "
                        f"Received: shape={image.shape}")
    return image[..., :3].astype(np.float32)


def as_channels(image: np.ndarray, channels: int, where: str = "image") -> np.ndarray:
    """(H, W, channels) float32 pixels from a grey or colour image, as a model with `channels` takes."""
    image = _as_hwc(np.asarray(image), where)
    if image.shape[-1] == channels:
        return image
    return image.mean(-1, keepdims=True) if channels == 1 else np.repeat(image, 3, -1)


def _paired_files(images_dir: Path, masks_dir: Path) -> list[tuple[Path, Path]]:
    """(image, mask) paths matched by file stem; a file without its partner is an error."""
    def by_stem(folder):
        files = sorted(p for p in folder.iterdir() if p.is_file() and not is_hidden(p) and p.suffix.lower() in SUFFIXES)
        return {p.stem: p for p in files}

    images, masks = by_stem(images_dir), by_stem(masks_dir)
    if not images:
        raise DataError(f"{images_dir}: no images with suffix {SUFFIXES}")
    lonely = sorted(set(images) - set(masks))
    if lonely:
        shown = ", ".join(str(images[s]) for s in lonely[:5])
        raise DataError(f"{len(lonely)} image(s) without a mask in {masks_dir} (matched by file stem): {shown}")
    orphans = sorted(set(masks) - set(images))
    if orphans:
        shown = ", ".join(str(masks[s]) for s in orphans[:5])
        raise DataError(f"{len(orphans)} mask(s) without an image in {images_dir}: {shown}")
    return [(images[s], masks[s]) for s in sorted(images)]


def _file_pairs(data_config) -> list[tuple[Path, Path]]:
    path = Path(data_config.path)
    if data_config.mask_path:
        masks = Path(data_config.mask_path)
        if path.is_file() != masks.is_file():
            raise DataError(f"data.path ({path}) and data.mask_path ({masks}) must both be files "
                            f"or both be folders")
        return [(path, masks)] if path.is_file() else _paired_files(path, masks)
    if path.is_dir() and (path / "images").is_dir() and (path / "masks").is_dir():
        return _paired_files(path / "images", path / "masks")
    raise DataError(f"{path}: expected a folder holding images/ and masks/, an .npz with images and "
                    f"masks, or data.mask_path naming the masks")


# ---------------------------------------------------------------- class tables


class ClassTable:
    """Turns raw mask values (indices, instance ids, grey values or colours) into class indices."""

    def __init__(self, data_config):
        self.instances = data_config.instance_masks
        self.table = data_config.classes
        given = data_config.class_names
        if self.table:
            self.names = [c.name for c in self.table]
        elif self.instances:
            self.names = list(given or ["background", "foreground"])
            if len(self.names) != 2:
                raise DataError(f"data.instance_masks makes two classes; data.class_names has {len(self.names)}")
        else:
            self.names = list(given) if given else None  # learned from the masks' largest index

    def describe(self) -> str:
        if self.table:
            return "; ".join(f"{c.name}={c.value if c.value is not None else list(c.color)}" for c in self.table)
        return f"class indices 0..{len(self.names) - 1}" if self.names else "class indices"

    def encode(self, mask: np.ndarray, where: str) -> np.ndarray:
        """Class indices (H, W) for one raw mask; a value outside the table names the file."""
        if mask.ndim == 3 and mask.shape[-1] == 1:
            mask = mask[..., 0]
        colour = mask.ndim == 3
        if self.instances or not self.table:
            if colour:
                raise DataError(f"{where}: the mask has colour channels; give data.classes with a "
                                f"color for each class")
            if self.instances:
                return (mask != 0).astype(np.uint8)
            if mask.min() < 0:
                raise DataError(f"{where}: negative mask value {mask.min()}; expected class indices")
            if self.names and mask.max() >= len(self.names):
                bad = sorted(set(np.unique(mask).tolist()) - set(range(len(self.names))))
                raise DataError(f"{where}: mask value(s) {bad[:10]} outside the class table "
                                f"({self.describe()})")
            return mask.astype(np.uint8 if mask.max() < 256 else np.int32)
        return self._from_table(mask, colour, where)

    def _from_table(self, mask: np.ndarray, colour: bool, where: str) -> np.ndarray:
        keys = [c.color if colour else c.value for c in self.table]
        if any(k is None for k in keys):
            kind = "colour" if colour else "grey or palette"
            raise DataError(f"{where}: the mask is {kind} but some data.classes rows give no "
                            f"{'color' if colour else 'value'}")
        flat = mask.reshape(-1, 3).astype(np.int64) if colour else mask.reshape(-1).astype(np.int64)
        codes = flat @ np.array([65536, 256, 1]) if colour else flat
        lookup = {(k[0] * 65536 + k[1] * 256 + k[2]) if colour else k: i for i, k in enumerate(keys)}
        uniques, inverse = np.unique(codes, return_inverse=True)
        unknown = [u for u in uniques.tolist() if u not in lookup]
        if unknown:
            shown = [[u // 65536, u // 256 % 256, u % 256] for u in unknown[:10]] if colour else unknown[:10]
            raise DataError(f"{where}: mask value(s) {shown} outside the class table ({self.describe()})")
        classes = np.array([lookup[u] for u in uniques.tolist()], dtype=np.uint8)
        return classes[inverse].reshape(mask.shape[:2])

    def finish(self, masks: list[np.ndarray]) -> list[str]:
        """Class names; without a table, one per index up to the largest seen (at least 2)."""
        if self.names is None:
            self.names = [str(i) for i in range(max(2, max(int(m.max()) for m in masks) + 1))]
        return self.names


# ---------------------------------------------------------------- loading


def _read_pairs(data_config, table: ClassTable):
    images, masks, names = [], [], []
    for image_path, mask_path in _file_pairs(data_config):
        image = _as_hwc(read_image(image_path), str(image_path))
        raw_mask = read_image(mask_path)
        if raw_mask.shape[:2] != image.shape[:2]:
            raise DataError(f"{mask_path}: mask is {raw_mask.shape[1]}x{raw_mask.shape[0]} (WxH) but its image "
                            f"{image_path} is {image.shape[1]}x{image.shape[0]}")
        images.append(image)
        masks.append(table.encode(raw_mask, str(mask_path)))
        names.append(image_path.name)
    return images, masks, names


def _read_arrays(images, masks, where: str, table: ClassTable):
    images, masks = np.asarray(images), np.asarray(masks)
    if images.ndim not in (3, 4) or masks.ndim not in (3, 4):
        raise DataError(f"{where}: expected images (N, H, W[, C]) and masks (N, H, W). "
                        f"Received: images.shape={images.shape}, masks.shape={masks.shape}")
    if len(images) != len(masks) or images.shape[1:3] != masks.shape[1:3]:
        raise DataError(f"{where}: images and masks must match in count, height and width. "
                        f"Received: images.shape={images.shape}, masks.shape={masks.shape}")
    out_images = [_as_hwc(x, f"{where} image {i}") for i, x in enumerate(images)]
    out_masks = [table.encode(m, f"{where} mask {i}") for i, m in enumerate(masks)]
    return out_images, out_masks, [f"{where}[{i}]" for i in range(len(images))]


def _load_npz(path: Path, table: ClassTable):
    archive = read_npz(path)
    if not {"images", "masks"} <= set(archive.files):
        raise DataError(f"{path}: expected arrays named images and masks. Found: {sorted(archive.files)}")
    return _read_arrays(archive["images"], archive["masks"], str(path), table)


def _tile_size(setting, images: list[np.ndarray]) -> int:
    if setting != "auto":
        return int(setting)
    smallest = min(min(x.shape[:2]) for x in images)
    return int(min(MAX_AUTO_TILE, max(32, smallest // 32 * 32)))


def _split_regions(images, tile: int, split_cfg, seed: int) -> tuple[dict[str, list[Box]], str]:
    """Regions (whole images, or a grid within each) dealt to train, val and test."""
    rng = np.random.default_rng(seed)
    if len(images) >= MIN_IMAGES_TO_SPLIT_BY_IMAGE:
        regions = [Box(i, 0, 0, *x.shape[:2]) for i, x in enumerate(images)]
        method = f"by image: {len(images)} images dealt whole to train, val and test (seeded)"
    else:
        for scale in (4, 3, 2, 1):
            regions = [box for i, x in enumerate(images) for box in region_grid(i, *x.shape[:2], tile * scale)]
            if len(regions) >= MIN_REGIONS:
                break
        side = tile * scale
        method = (f"by region: {len(images)} image(s) cut into {len(regions)} regions of about {side} px, "
                  f"dealt to train, val and test (seeded); tiles never cross a region")
    if len(regions) < 3:
        raise DataError(f"{len(regions)} region(s) of {tile}-px tiles cannot make train, val and test parts; "
                        f"use more or larger images, or a smaller data.tile_size")
    order = rng.permutation(len(regions))
    n_test = max(1, int(round(len(regions) * split_cfg.test)))
    n_val = max(1, int(round(len(regions) * split_cfg.val)))
    if n_test + n_val >= len(regions):
        n_test, n_val = 1, 1
    picked = {"test": order[:n_test], "val": order[n_test:n_test + n_val], "train": order[n_test + n_val:]}
    return {part: [regions[i] for i in sorted(idx)] for part, idx in picked.items()}, method


def _tiles(images, masks, regions: list[Box], tile: int, overlap: int) -> TileSet:
    boxes = [box for region in regions for box in tile_boxes(region, tile, overlap)]
    return TileSet(np.stack([b.crop(images[b.image]) for b in boxes]),
                   np.stack([b.crop(masks[b.image]) for b in boxes]), boxes)


def load_segmentation_data(data_config, seed: int, arrays=None) -> SegmentationData:
    """Loads image/mask pairs, splits them without overlap across parts, and tiles them.

    Args:
        data_config: a `DataConfig`.
        seed: the run's seed; the split depends only on it and the data.
        arrays: optional `(images, masks)` passed through the Python API.
    """
    table = ClassTable(data_config)
    path = Path(data_config.path)
    if arrays is not None:
        source, (images, masks, names) = "arrays", _read_arrays(*arrays, "arrays", table)
    elif path.is_file() and path.suffix == ".npz":
        source, (images, masks, names) = "npz", _load_npz(path, table)
    else:
        source, (images, masks, names) = "files", _read_pairs(data_config, table)
    class_names = table.finish(masks)
    channels = {x.shape[-1] for x in images}
    if len(channels) > 1:  # grey and colour mixed: colour wins
        images = [np.repeat(x, 3, -1) if x.shape[-1] == 1 else x for x in images]
    sizes = [tuple(int(v) for v in x.shape[:2]) for x in images]
    tile = _tile_size(data_config.tile_size, images)
    overlap = tile // 2 if data_config.tile_overlap == "auto" else int(data_config.tile_overlap)
    if overlap >= tile:
        raise DataError(f"data.tile_overlap={overlap} must be less than the tile size {tile}")
    images = [pad_to(x, tile) for x in images]
    masks = [pad_to(m, tile) for m in masks]
    regions, method = _split_regions(images, tile, data_config.split, seed)
    # Training tiles overlap (more, shifted views); val and test tiles each count their pixels once.
    parts = {part: _tiles(images, masks, regions[part], tile, overlap if part == "train" else 0)
             for part in ("train", "val", "test")}
    pixels = parts["train"].images
    low, high = (float(v) for v in np.percentile(pixels, [1.0, 99.8]))
    return SegmentationData(class_names, images, masks, names, tile, overlap, source, method, regions,
                            parts["train"], parts["val"], parts["test"],
                            intensity_range=(low, high if high > low else low + 1.0), sizes=sizes)
