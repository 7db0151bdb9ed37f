"""Values as people read them, for the report, the terminal and the model card: counts with
thousands separators, measures to four significant digits, bytes in KiB/MB, nested values as
`key value` phrases (never JSON)."""

from __future__ import annotations


def number(value) -> str:
    """1,674,046 · 0.8733 · 14.9 · 4 · 1.2e-05; None as a dash."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if value == 0:
            return "0"
        if abs(value) < 1e-3:
            return f"{value:.2e}"
        if abs(value) >= 10_000:
            return f"{value:,.0f}"
        return f"{value:.4g}"
    return str(value)


def size(num_bytes) -> str:
    if num_bytes is None:
        return "-"
    if num_bytes < 1024 * 1024:
        return f"{num_bytes / 1024:.1f} KiB"
    return f"{num_bytes / 1024 / 1024:.2f} MiB"


def phrase(value) -> str:
    """Any value as one line of text: dicts as `key value, ...`, lists comma-separated."""
    if isinstance(value, dict):
        return ", ".join(f"{key.replace('_', ' ')} {phrase(item)}" for key, item in value.items()) or "-"
    if isinstance(value, (list, tuple)):
        return ", ".join(phrase(item) for item in value) or "none"
    return number(value)


def plural(count: int, noun: str, many: str | None = None) -> str:
    """'1 family', '3 families' (never 'family(ies)')."""
    return f"{count:,} {noun if count == 1 else many or noun + 's'}"
