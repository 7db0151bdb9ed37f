"""Text classification data: CSV, TSV, JSON Lines (optionally .gz/.bz2) and
folders of .txt files per class.

Rows with an empty text, a missing label or bytes that are not UTF-8 fail
the run (`data.on_bad_row: error`) or are skipped and counted in the report.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from automl.data.files import is_hidden, natural_key, visible_dirs
from automl.data.split import SplitParts, stratified_sample, stratified_split
from automl.data.text_files import first_undecodable, has_undecodable, not_utf8_message, read_bytes, read_text_file
from automl.errors import DataError

#: Above this share of rows with bytes that are not UTF-8 (and above one row), the file is
#: taken to be in another encoding (an error naming `data.encoding`) rather than to hold a
#: few broken rows, which are skipped and counted.
NOT_UTF8_SHARE = 0.01
NOT_UTF8 = "bytes that are not UTF-8"

_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl"}


@dataclass
class TextSplit:
    texts: list[str]
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, indices) -> "TextSplit":
        indices = np.asarray(indices, dtype=np.int64)
        return TextSplit([self.texts[i] for i in indices], self.labels[indices])


@dataclass
class TextData(SplitParts):
    class_names: list[str]
    source: str
    split_method: str
    train: TextSplit
    val: TextSplit
    test: TextSplit
    skipped: Counter = field(default_factory=Counter)
    skipped_examples: list[dict] = field(default_factory=list)
    #: Encodings by (family, weights source), filled by the text task.
    encoded_views: dict = field(default_factory=dict)



class _Rows:
    """Collects good rows and counts bad ones, or raises on the first bad one."""

    def __init__(self, path: Path, policy: str):
        self.path, self.policy = path, policy
        self.texts: list[str] = []
        self.labels: list[str] = []
        self.wheres: list[str] = []  # where each kept row is, e.g. "row 17"
        self.skipped: Counter = Counter()
        self.examples: list[dict] = []

    def bad(self, where: str, reason: str) -> None:
        if self.policy == "error":
            hint = "set data.encoding, or " if reason == NOT_UTF8 else ""
            raise DataError(f"{self.path}: {where}: {reason} ({hint}set data.on_bad_row: skip to skip and count "
                            f"such rows)")
        self.skipped[reason] += 1
        if len(self.examples) < 20:
            self.examples.append({"where": where, "reason": reason})

    def add(self, where: str, text, label) -> None:
        if text is None or not str(text).strip():
            return self.bad(where, "empty text")
        if label is None or not str(label).strip():
            return self.bad(where, "missing label")
        text = str(text)
        if has_undecodable(text) or has_undecodable(str(label)):
            return self.bad(where, NOT_UTF8)
        self.texts.append(text.strip())
        self.labels.append(str(label).strip())
        self.wheres.append(where)


def _format_of(path: Path, declared: str) -> str:
    if declared != "auto":
        return declared
    if path.is_dir():
        return "folder"
    suffixes = [s for s in path.suffixes if s not in (".gz", ".bz2")]
    found = _SUFFIXES.get(suffixes[-1] if suffixes else "")
    if not found:
        raise DataError(f"{path}: cannot tell the text format from the name; set data.format (csv, tsv, jsonl, folder)")
    return found


def _read_table(path: Path, fmt: str, cfg, rows: _Rows) -> None:
    text = read_text_file(path, cfg.encoding, strict=False)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter="\t" if fmt == "tsv" else ",")
    columns = reader.fieldnames or []
    for key, column in (("data.text_column", cfg.text_column), ("data.label_column", cfg.label_column)):
        if column not in columns:
            raise DataError(f"{path}: {key}={column!r} is not a column. Columns: {columns}")
    number = 1
    try:
        for number, row in enumerate(reader, start=2):
            rows.add(f"row {number}", row.get(cfg.text_column), row.get(cfg.label_column))
    except csv.Error as err:
        raise DataError(f"{path}: row {number + 1}: not valid {fmt.upper()}: {err}") from None


def _read_jsonl(path: Path, cfg, rows: _Rows) -> None:
    for number, line in enumerate(read_text_file(path, cfg.encoding, strict=False).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            rows.bad(f"line {number}", f"not valid JSON ({err.msg})")
            continue
        if not isinstance(record, dict):
            rows.bad(f"line {number}", "not a JSON object")
            continue
        rows.add(f"line {number}", record.get(cfg.text_column), record.get(cfg.label_column))


def _read_folder(path: Path, cfg, rows: _Rows) -> None:
    class_dirs = visible_dirs(path)
    if len(class_dirs) < 2:
        raise DataError(f"{path}: expected one subfolder of .txt files per class (at least two). "
                        f"Found: {[p.name for p in class_dirs]}")
    for class_dir in class_dirs:
        files = [f for f in sorted(class_dir.rglob("*.txt"))
                 if not any(is_hidden(Path(part)) for part in f.relative_to(class_dir).parts)]
        if not files:
            rows.bad(str(class_dir), "class folder without .txt files")
        for file in files:
            rows.add(str(file), read_text_file(file, cfg.encoding, strict=False), class_dir.name)


def _check_encoding(path: Path, rows: _Rows, cfg) -> None:
    """A file with many rows that are not UTF-8 is in another encoding: say so, and how to read it."""
    bad = rows.skipped.get(NOT_UTF8, 0)
    total = bad + len(rows.texts)
    if cfg.encoding != "auto" or not bad or (rows.texts and bad <= max(1, NOT_UTF8_SHARE * total)):
        return
    if path.is_dir():
        raise DataError(f"{path}: {bad} of {total} files are not UTF-8 (first: {rows.examples[0]['where']}); "
                        f"set data.encoding to their encoding (cp1252 and latin-1 are common)")
    raw = read_bytes(path)
    raise DataError(not_utf8_message(path, raw, first_undecodable(raw), f"{bad} of {total} rows hold bytes that "
                                                                        f"are not; the first"))


def _check_label_counts(path: Path, labels: list[str], wheres: list[str], split) -> None:
    """A label with fewer examples than the split has parts is never tested (or never trained):
    refused, naming its rows, rather than scored as if it were learnt."""
    needed = 1 + (split.val > 0) + (split.test > 0)
    counts = Counter(labels)
    rare = sorted((label for label, n in counts.items() if n < needed), key=lambda label: (counts[label], label))
    if not rare:
        return
    first = rare[0]
    rows = [where for where, label in zip(wheres, labels) if label == first]
    others = f" ({len(rare) - 1} more label(s) like it: {rare[1:4]})" if len(rare) > 1 else ""
    raise DataError(f"{path}: label {first!r} has {counts[first]} example(s) ({', '.join(rows)}){others}; each label "
                    f"needs at least {needed}, one for each of training, validation and test. Add examples, "
                    f"or name the labels to keep in data.labels")


def load_text_data(cfg, seed: int, arrays=None) -> TextData:
    """Reads, filters and splits text classification data (seeded, stratified)."""
    if arrays is not None:
        path, fmt = Path("<arrays>"), "arrays"
        rows = _Rows(path, cfg.on_bad_row)
        for i, (text, label) in enumerate(zip(*arrays)):
            rows.add(f"example {i}", text, label)
    else:
        path = Path(cfg.path)
        fmt = _format_of(path, cfg.format)
        rows = _Rows(path, cfg.on_bad_row)
        if fmt in ("csv", "tsv"):
            _read_table(path, fmt, cfg, rows)
        elif fmt == "jsonl":
            _read_jsonl(path, cfg, rows)
        elif fmt == "folder":
            _read_folder(path, cfg, rows)
        else:
            raise DataError(f"{path}: data.format={fmt!r} does not hold text; use csv, tsv, jsonl or folder")
        _check_encoding(path, rows, cfg)
    labels, wheres = rows.labels, rows.wheres
    if cfg.labels:
        keep = set(cfg.labels)
        dropped = Counter(label for label in labels if label not in keep)
        missing = keep - set(labels)
        if missing:
            raise DataError(f"{path}: data.labels names {sorted(missing)}, which never occur. "
                            f"Labels found: {sorted(set(labels))[:20]}")
        picked = [i for i, label in enumerate(labels) if label in keep]
        texts = [rows.texts[i] for i in picked]
        labels = [labels[i] for i in picked]
        wheres = [wheres[i] for i in picked]
        names = list(cfg.labels)
        filtered = {f"label not in data.labels ({k})": v for k, v in dropped.items()}
    else:
        texts = rows.texts
        names = sorted(set(labels), key=natural_key)
        filtered = {}
    if len(names) < 2:
        raise DataError(f"{path}: text classification needs at least two labels. Found: {names}")
    _check_label_counts(path, labels, wheres, cfg.split)
    lookup = {name: i for i, name in enumerate(names)}
    y = np.array([lookup[label] for label in labels], dtype=np.int64)
    whole = TextSplit(texts, y)
    idx = stratified_split(y, cfg.split.val, cfg.split.test, seed)
    train = whole.take(idx.train)
    if cfg.max_examples and cfg.max_examples < len(train):
        train = train.take(stratified_sample(train.labels, cfg.max_examples, seed))
    skipped = rows.skipped + Counter(filtered)
    return TextData(names, fmt, "stratified, seeded", train, whole.take(idx.val), whole.take(idx.test),
                    skipped, rows.examples)
