"""Boxes as people annotate them: COCO JSON, Pascal VOC XML and YOLO text labels, read to one form.

Every reader returns `Annotations`: per image its file, size, boxes in pixels
(x_min, y_min, x_max, y_max, edges of the pixel grid) and class indices, and
the class names in index order. Layouts:

- COCO: one JSON file with `images`, `annotations` (`bbox` is x, y, width,
  height) and `categories`; image files by `file_name`, beside the JSON or in
  an `images/` folder there. Classes in category id order.
- Pascal VOC: one XML file per image (`<size>`, `<object><name>` and
  `<bndbox>`), in the folder or its `Annotations/`; images beside them or in
  `JPEGImages/` or `images/`. Corner values are read as pixel edges, as CVAT
  and labelImg write them. Classes sorted by name unless `class_names` says.
- YOLO: `images/` and `labels/` side by side (subfolders mirrored), one text
  line per box, `class x_centre y_centre width height` relative to the image;
  names from `classes.txt`, `obj.names` or a `data.yaml` / `dataset.yaml`
  `names:` entry. An image without a label file has no boxes (a negative).

Images without boxes are kept in every layout (they teach the detector what
is not an object). Every bad box (outside the image by more than
`EDGE_TOLERANCE` pixels, of zero area, of an unknown class, unreadable) is
collected and named with its file and line in one `DataError`, before any
image is read for training.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from automl.data.files import IMAGE_SUFFIXES, is_hidden
from automl.errors import DataError

LAYOUTS = ("coco", "voc", "yolo")
#: A box may pass the image's edge by this many pixels (annotation tools round); it is clipped.
EDGE_TOLERANCE = 1.0
#: Problems listed in the error at most (the count says how many more).
MAX_LISTED = 20
SUFFIXES = (*IMAGE_SUFFIXES, ".tif", ".tiff")


@dataclass
class ImageBoxes:
    """One image's annotation."""

    path: Path
    width: int
    height: int
    boxes: np.ndarray  # (N, 4) float32 pixels: x_min, y_min, x_max, y_max
    classes: np.ndarray  # (N,) int64 indices into Annotations.class_names


@dataclass
class Annotations:
    images: list[ImageBoxes]
    class_names: list[str]
    layout: str  # one of LAYOUTS
    source: str
    #: How the class names were found, for the profile.
    names_from: str = ""
    #: What was left out on purpose, and how many: {what: count}.
    skipped: dict = field(default_factory=dict)

    @property
    def box_count(self) -> int:
        return int(sum(len(image.boxes) for image in self.images))


class _Problems:
    """Bad boxes found while reading, raised together."""

    def __init__(self, source: str):
        self.source, self.found = source, []

    def add(self, where: str, what: str) -> None:
        self.found.append(f"{where}: {what}")

    def raise_any(self) -> None:
        if not self.found:
            return
        listed = "\n  ".join(self.found[:MAX_LISTED])
        more = f"\n  ... and {len(self.found) - MAX_LISTED} more" if len(self.found) > MAX_LISTED else ""
        raise DataError(f"{self.source}: {len(self.found)} bad box(es) or label(s); fix or remove them:\n  "
                        f"{listed}{more}")


def read_annotations(path: str | Path, layout: str = "auto", class_names: Optional[list[str]] = None) -> Annotations:
    """The annotations at `path` (a COCO JSON file, or a folder in any layout) in one form.

    Args:
        layout: "coco", "voc", "yolo", or "auto" to tell from the files.
        class_names: the classes in index order, when the files do not name them (YOLO without a
            names file) or to fix their order (VOC); a box of a class not listed is an error.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder (data.path: a COCO JSON file, or a folder of VOC XML "
                        f"files or of YOLO images/ and labels/)")
    found = find_layout(path) if layout == "auto" else layout
    if found not in LAYOUTS:
        raise DataError(f"data.format: expected one of auto, {', '.join(LAYOUTS)}. Received: {layout!r}")
    reader = {"coco": read_coco, "voc": read_voc, "yolo": read_yolo}[found]
    annotations = reader(path, class_names)
    if not annotations.images:
        raise DataError(f"{path}: no annotated images found in the {found} layout")
    if not annotations.box_count:
        raise DataError(f"{path}: {len(annotations.images)} image(s) but not one box: a detector needs boxes")
    return annotations


def find_layout(path: Path) -> str:
    """Which layout the files at `path` are in; a DataError saying what was looked for otherwise."""
    if path.is_file():
        if path.suffix.lower() == ".json":
            return "coco"
        raise DataError(f"{path}: expected a COCO .json file or a folder. Received: a {path.suffix or 'plain'} file")
    if _coco_file(path, quiet=True):
        return "coco"
    if (path / "labels").is_dir() and (path / "images").is_dir():
        return "yolo"
    if _xml_files(path):
        return "voc"
    raise DataError(f"{path}: no annotations found. Expected a COCO .json file (with images, annotations and "
                    f"categories), VOC .xml files (here or in Annotations/), or YOLO images/ and labels/ folders")


# ---------------------------------------------------------------- COCO


def _coco_file(folder: Path, quiet: bool = False) -> Optional[Path]:
    """The folder's COCO JSON: annotations.json, or the one .json file holding `annotations`."""
    candidates = [folder / "annotations.json"] + sorted(folder.glob("*.json")) + sorted(
        (folder / "annotations").glob("*.json") if (folder / "annotations").is_dir() else [])
    for candidate in candidates:
        if candidate.is_file() and '"annotations"' in candidate.read_text(errors="ignore")[:10_000_000]:
            return candidate
    if quiet:
        return None
    raise DataError(f"{folder}: no COCO .json file with an 'annotations' list")


def read_coco(path: Path, class_names: Optional[list[str]] = None) -> Annotations:
    json_path = path if path.is_file() else _coco_file(path)
    try:
        document = json.loads(json_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"{json_path}: cannot read COCO JSON: {err}") from None
    for key in ("images", "annotations", "categories"):
        if not isinstance(document.get(key), list):
            raise DataError(f"{json_path}: expected a list under {key!r} (COCO detection format). "
                            f"Received: {type(document.get(key)).__name__}")
    categories = sorted(document["categories"], key=lambda c: c.get("id", 0))
    names = [str(c.get("name", c.get("id"))) for c in categories]
    index = {c.get("id"): i for i, c in enumerate(categories)}
    names, index, names_from = _ordered(names, index, class_names, "the categories")
    problems = _Problems(str(json_path))
    roots = [json_path.parent, json_path.parent / "images", json_path.parent.parent / "images"]
    by_id, order, crowd = {}, [], 0
    listed = {entry.get("id") for entry in document["images"]}
    for i, entry in enumerate(document["images"]):
        where = f"images[{i}]"
        name = entry.get("file_name")
        if not name:
            problems.add(where, "no file_name")
            continue
        image_path = next((root / name for root in roots if (root / name).is_file()), None)
        if image_path is None:
            problems.add(where, f"image file {name!r} not found beside the JSON or in images/")
            continue
        width, height = entry.get("width"), entry.get("height")
        if not width or not height:
            width, height = image_size(image_path)
        by_id[entry.get("id")] = ImageBoxes(image_path, int(width), int(height), [], [])
        order.append(entry.get("id"))
    for i, entry in enumerate(document["annotations"]):
        where = f"annotations[{i}] (id {entry.get('id')})"
        image = by_id.get(entry.get("image_id"))
        if image is None:
            if entry.get("image_id") not in listed:  # else its image's own problem is listed
                problems.add(where, f"image_id {entry.get('image_id')!r} is not in images")
            continue
        if entry.get("iscrowd"):  # one box around many objects: COCO's evaluation ignores them too
            crowd += 1
            continue
        if entry.get("category_id") not in index:
            problems.add(where, f"category_id {entry.get('category_id')!r} is not in {names_from}")
            continue
        bbox = entry.get("bbox")
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(isinstance(v, (int, float)) for v in bbox)):
            problems.add(where, f"bbox must be [x, y, width, height]. Received: {bbox!r}")
            continue
        x, y, w, h = (float(v) for v in bbox)
        _add_box(image, (x, y, x + w, y + h), index[entry["category_id"]], f"{where}, {image.path.name}", problems)
    problems.raise_any()
    return Annotations([_finished(by_id[i]) for i in order], names, "coco", str(json_path), names_from,
                       {"crowd boxes (iscrowd: 1)": crowd} if crowd else {})


# ---------------------------------------------------------------- Pascal VOC


def _xml_files(folder: Path) -> list[Path]:
    where = folder / "Annotations" if (folder / "Annotations").is_dir() else folder
    return sorted(p for p in where.rglob("*.xml") if _visible(p, where))


def read_voc(path: Path, class_names: Optional[list[str]] = None) -> Annotations:
    import xml.etree.ElementTree as ET

    files = _xml_files(path)
    parsed = []
    for xml_path in files:
        text = xml_path.read_text(errors="replace")
        try:
            root = ET.fromstring(text)
        except ET.ParseError as err:
            raise DataError(f"{xml_path}: cannot read VOC XML: {err}") from None
        parsed.append((xml_path, text, root))
    seen = sorted({(o.findtext("name") or "").strip() for _, _, root in parsed for o in root.iter("object")})
    names, index, names_from = _ordered(seen, {name: i for i, name in enumerate(seen)}, class_names,
                                        "the object names")
    problems = _Problems(str(path))
    images = []
    for xml_path, text, root in parsed:
        object_lines = _tag_lines(text, "object")
        image_path = _voc_image(path, xml_path, root.findtext("filename"))
        if image_path is None:
            problems.add(str(xml_path), f"image {root.findtext('filename')!r} not found beside it, in JPEGImages/ "
                                        f"or images/")
            continue
        width, height = (_number(root.find("size"), key) for key in ("width", "height"))
        if not width or not height:
            width, height = image_size(image_path)
        image = ImageBoxes(image_path, int(width), int(height), [], [])
        for n, element in enumerate(root.iter("object")):
            where = f"{xml_path}:{object_lines[n] if n < len(object_lines) else '?'}"
            name = (element.findtext("name") or "").strip()
            if name not in index:
                problems.add(where, f"class {name!r} is not in {names_from}")
                continue
            box = element.find("bndbox")
            corners = [_number(box, key) for key in ("xmin", "ymin", "xmax", "ymax")]
            if any(value is None for value in corners):
                problems.add(where, "bndbox needs numbers xmin, ymin, xmax, ymax")
                continue
            _add_box(image, corners, index[name], where, problems)
        images.append(_finished(image))
    problems.raise_any()
    return Annotations(images, names, "voc", str(path), names_from)


def _voc_image(root: Path, xml_path: Path, filename: Optional[str]) -> Optional[Path]:
    stems = [filename] if filename else []
    for folder in (xml_path.parent, root / "JPEGImages", root / "images", root):
        for name in stems:
            if (folder / name).is_file():
                return folder / name
        for suffix in SUFFIXES:  # a filename that lost its suffix, or none given
            candidate = folder / (xml_path.stem + suffix)
            if candidate.is_file():
                return candidate
    return None


def _visible(path: Path, root: Path) -> bool:
    """No folder between `root` and `path`, nor the file, is hidden or a tool's leftover."""
    return not any(is_hidden(Path(part)) for part in path.relative_to(root).parts)


def _tag_lines(text: str, tag: str) -> list[int]:
    """The line of each opening `<tag>` in document order (ElementTree keeps no line numbers)."""
    return [text.count("\n", 0, match.start()) + 1 for match in re.finditer(rf"<{tag}[\s>]", text)]


def _number(element, key: str) -> Optional[float]:
    if element is None:
        return None
    try:
        return float(element.findtext(key))
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------- YOLO


def read_yolo(path: Path, class_names: Optional[list[str]] = None) -> Annotations:
    images_dir, labels_dir = path / "images", path / "labels"
    names, names_from = _yolo_names(path)
    if class_names:
        names, names_from = list(class_names), "data.class_names"
    problems = _Problems(str(path))
    images, largest = [], -1
    for image_path in sorted(p for p in images_dir.rglob("*")
                             if p.is_file() and p.suffix.lower() in SUFFIXES and _visible(p, images_dir)):
        label = (labels_dir / image_path.relative_to(images_dir)).with_suffix(".txt")
        width, height = image_size(image_path)
        image = ImageBoxes(image_path, width, height, [], [])
        lines = label.read_text(errors="replace").splitlines() if label.is_file() else []
        for number, line in enumerate(lines, start=1):
            where = f"{label}:{number}"
            fields = line.split()
            if not fields:
                continue
            try:
                values = [float(v) for v in fields]
            except ValueError:
                problems.add(where, f"expected 'class x_centre y_centre width height'. Received: {line.strip()!r}")
                continue
            if len(values) != 5 or values[0] != int(values[0]) or values[0] < 0:
                problems.add(where, f"expected 'class x_centre y_centre width height' (a class index and four "
                                    f"numbers relative to the image). Received: {line.strip()!r}")
                continue
            klass, cx, cy, w, h = int(values[0]), *values[1:]
            if names is not None and klass >= len(names):
                problems.add(where, f"class {klass} is not in {names_from} ({len(names)} names)")
                continue
            largest = max(largest, klass)
            corners = ((cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height)
            _add_box(image, corners, klass, where, problems)
        images.append(_finished(image))
    problems.raise_any()
    if names is None:
        names, names_from = [str(i) for i in range(largest + 1)], "the class indices (no classes.txt, obj.names or data.yaml names)"
    return Annotations(images, names, "yolo", str(path), names_from)


def _yolo_names(path: Path) -> tuple[Optional[list[str]], str]:
    for name in ("classes.txt", "obj.names", "labels/classes.txt"):
        if (path / name).is_file():
            return [line.strip() for line in (path / name).read_text().splitlines() if line.strip()], str(path / name)
    for name in ("data.yaml", "dataset.yaml"):
        if (path / name).is_file():
            import yaml

            try:
                names = (yaml.safe_load((path / name).read_text()) or {}).get("names")
            except yaml.YAMLError as err:
                raise DataError(f"{path / name}: cannot read YAML: {err}") from None
            if isinstance(names, dict):
                names = [names[key] for key in sorted(names)]
            if isinstance(names, list):
                return [str(n) for n in names], f"{path / name} names"
    return None, ""


# ---------------------------------------------------------------- shared


def _ordered(found: list[str], index: dict, wanted: Optional[list[str]], what: str) -> tuple[list[str], dict, str]:
    """Class names and the map from a file's class key to an index, in `wanted`'s order when given."""
    if not wanted:
        return found, index, what
    by_name = {name: i for i, name in enumerate(wanted)}
    return list(wanted), {key: by_name[found[i]] for key, i in index.items() if found[i] in by_name}, "data.class_names"


def _add_box(image: ImageBoxes, corners, klass: int, where: str, problems: _Problems) -> None:
    x0, y0, x1, y1 = (float(v) for v in corners)
    if not all(np.isfinite([x0, y0, x1, y1])):
        problems.add(where, f"a coordinate is not a number: {[x0, y0, x1, y1]}")
        return
    if x1 - x0 <= 0 or y1 - y0 <= 0:
        problems.add(where, f"zero or negative area: x {x0:g}..{x1:g}, y {y0:g}..{y1:g}")
        return
    tol = EDGE_TOLERANCE
    if x0 < -tol or y0 < -tol or x1 > image.width + tol or y1 > image.height + tol:
        problems.add(where, f"box x {x0:g}..{x1:g}, y {y0:g}..{y1:g} is outside the {image.width}x{image.height} "
                            f"image")
        return
    box = (max(x0, 0.0), max(y0, 0.0), min(x1, float(image.width)), min(y1, float(image.height)))
    image.boxes.append(box)
    image.classes.append(klass)


def _finished(image: ImageBoxes) -> ImageBoxes:
    image.boxes = np.asarray(image.boxes, dtype=np.float32).reshape(-1, 4)
    image.classes = np.asarray(image.classes, dtype=np.int64)
    return image


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the file's header."""
    try:
        if path.suffix.lower() in (".tif", ".tiff"):
            import tifffile

            with tifffile.TiffFile(path) as tif:
                shape = tif.pages[0].shape
            return int(shape[1]), int(shape[0])
        from PIL import Image

        with Image.open(path) as image:
            return image.size
    except Exception as err:  # noqa: BLE001 - PIL and tifffile raise many kinds
        raise DataError(f"{path}: cannot read image: {type(err).__name__}: {err}") from None
