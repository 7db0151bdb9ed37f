"""Versions of the installed packages a bundle was made with, read without importing them."""

from __future__ import annotations

import platform
from importlib import metadata
from typing import Optional

#: The packages every bundle's metadata.json names the versions of.
PACKAGES = ("automl", "tensorflow", "keras", "keras-tuner", "ai-edge-litert", "numpy")


def installed_version(name: str) -> Optional[str]:
    """The installed distribution's version, or None when it is not installed."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def package_versions() -> dict:
    return {"python": platform.python_version(), **{name: installed_version(name) for name in PACKAGES}}
