"""Reading text files as users have them: compressed or not, UTF-8 or another
encoding, with CSV fields of any length (e-mails run to 300,000 characters).
"""

from __future__ import annotations

import bz2
import csv
import gzip
import sys
from pathlib import Path

from automl.errors import DataError

# Python's csv module refuses fields over 131,072 characters by default.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))

_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def read_bytes(path: Path) -> bytes:
    """The file's bytes, decompressed when it ends in .gz or .bz2."""
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            return gzip.decompress(raw)
        if path.suffix == ".bz2":
            return bz2.decompress(raw)
        return raw
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder; expected a file") from None
    except (OSError, EOFError, ValueError) as err:
        raise DataError(f"{path}: cannot be read: {err}") from None


def read_text_file(path: Path, encoding: str = "auto", strict: bool = True) -> str:
    """The text of a file.

    Args:
        path: the file (.gz and .bz2 are decompressed).
        encoding: a codec name, or "auto": UTF-8, or UTF-16/UTF-8 with a byte-order mark.
        strict: in "auto" mode, a file that is not UTF-8 is an error that says so; when
            False its undecodable bytes survive as surrogates (see `has_undecodable`) so
            that rows can be judged one by one.
    """
    raw = read_bytes(path)
    if encoding != "auto":
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError as err:
            raise DataError(f"{path}: line {_line_of(raw, err.start)}: byte 0x{raw[err.start]:02x} is not "
                            f"{encoding} (data.encoding); is the file in another encoding?") from None
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            return raw.decode(codec)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        if strict:
            raise DataError(not_utf8_message(path, raw, err.start)) from None
    return raw.decode("utf-8", errors="surrogateescape")


def not_utf8_message(path: Path, raw: bytes, position: int, detail: str = "") -> str:
    """Says that a file is not UTF-8, where, and which `data.encoding` reads it."""
    return (f"{path}: the file is not UTF-8 ({detail or 'first'} byte 0x{raw[position]:02x} on line "
            f"{_line_of(raw, position)}); set data.encoding to its encoding{_encoding_hint(raw)}")


def first_undecodable(raw: bytes) -> int:
    """Byte offset of the first byte that is not UTF-8."""
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return err.start
    return -1


def has_undecodable(text: str) -> bool:
    """True if `text` holds bytes that were not UTF-8 (read with surrogateescape)."""
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _line_of(raw: bytes, position: int) -> int:
    return raw[:position].count(b"\n") + 1


def _encoding_hint(raw: bytes) -> str:
    """Names a common encoding that reads every byte (cp1252 first: Windows exports)."""
    for codec in ("cp1252", "latin-1"):
        try:
            raw.decode(codec)
            return f" ({codec} reads every byte of it)"
        except UnicodeDecodeError:
            continue
    return ""
