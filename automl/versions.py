"""Versions of the installed packages a bundle was made with (read without importing them), and the
machine a run ran on."""

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


def machine() -> dict:
    """The CPU (model, cores), memory and operating system; GPUs are the runtime's to say."""
    import os

    return {"cpu": _proc_value("/proc/cpuinfo", "model name") or platform.processor() or platform.machine(),
            "cores": os.cpu_count(), "memory_gib": _memory_gib(), "system": f"{platform.system()} {platform.release()}"}


def _proc_value(path: str, key: str) -> Optional[str]:
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                name, _, value = line.partition(":")
                if name.strip() == key:
                    return value.strip()
    except OSError:
        pass
    return None


def _memory_gib() -> Optional[float]:
    total = _proc_value("/proc/meminfo", "MemTotal")  # "24576000 kB"
    return round(int(total.split()[0]) / 1024 / 1024, 1) if total else None
