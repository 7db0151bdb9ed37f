"""The search's trials ranked best first, as one list of rows: the HTML report's table, the
terminal's table at the end of the search and `Result.leaderboard()` all read it."""

from __future__ import annotations

from typing import Optional

#: The columns of a row, in the order tables show them.
COLUMNS = ("rank", "trial", "family", "rung", "status", "objective", "epochs", "seconds", "parameters", "ran_on", "notes")


def leaderboard_rows(report: dict, baselines: bool = True) -> list[dict]:
    """One dict per trial (and per baseline rule the report scored on validation), the best first.

    `objective` is the search's objective (its name and direction are in `report["best"]`); a
    failed trial has none and its error as notes, a promoted trial says which one it continues.
    """
    search = report.get("search") or {}
    best = report.get("best") or {}
    direction = (best.get("objective") or {}).get("direction", "max")
    rows = []
    for trial in search.get("trials", []):
        history = trial.get("history") or []
        notes = trial.get("error") or (f"continues {trial['continues']}" if trial.get("continues") else "")
        rows.append({"trial": trial["trial_id"], "family": trial.get("family"), "rung": trial.get("rung", 0),
                     "status": trial.get("status"), "objective": trial.get("objective"),
                     "epochs": len(history) or None, "seconds": trial.get("seconds"), "parameters": trial.get("params"),
                     "best": trial["trial_id"] == best.get("trial_id"), "hyperparameters": trial.get("hyperparameters", {}),
                     # The worker (chief and workers) or Ray node that trained it; None in one process.
                     "ran_on": trial.get("worker"), "notes": notes})
    if baselines:  # rules need no training; their validation score is on the objective's scale
        described = report.get("baseline_notes", {})
        for name, value in report.get("baseline_validation", {}).items():
            rows.append({"trial": f"baseline/{name}", "family": "baseline", "rung": None, "status": "baseline",
                         "objective": value, "epochs": None, "seconds": None, "parameters": 0, "best": False,
                         "hyperparameters": {}, "ran_on": None, "notes": described.get(name, "rule, no parameters")})
    sign = -1 if direction == "max" else 1
    rows.sort(key=lambda row: (row["objective"] is None, sign * (row["objective"] or 0)))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank if row["objective"] is not None else None
    return rows


def objective_name(report: dict) -> str:
    return ((report.get("best") or {}).get("objective") or {}).get("name", "objective")


def as_frame(rows: list[dict]):
    """The rows as a pandas DataFrame when pandas is installed, else the rows themselves."""
    try:
        import pandas
    except ImportError:
        return rows
    return pandas.DataFrame(rows, columns=[*COLUMNS, "best", "hyperparameters"])


def text_table(headers: list[str], rows: list[list], right: Optional[set[int]] = None) -> list[str]:
    """Aligned plain-text lines (a header, a rule, the rows) for the terminal; numbers to the right."""
    right = right if right is not None else {i for i, cell in enumerate(rows[0] if rows else []) if _is_number(cell)}
    cells = [[str(h) for h in headers]] + [["-" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths).rstrip())
    return lines


def _is_number(cell) -> bool:
    return isinstance(cell, (int, float)) and not isinstance(cell, bool)


def terminal_lines(report: dict, limit: int = 10) -> list[str]:
    """The leaderboard as the terminal shows it at the end of the search (the first `limit` rows)."""
    from automl.progress import format_seconds
    from automl.readable import number

    rows = leaderboard_rows(report)
    cells = [[row["rank"] or "-", ("* " if row["best"] else "") + row["trial"], row["status"], number(row["objective"]),
              row["epochs"] or "-", format_seconds(row["seconds"]) if row["seconds"] is not None else "-"]
             for row in rows[:limit]]
    headers = ["rank", "trial", "status", objective_name(report), "epochs", "time"]
    if any(row["ran_on"] for row in rows):  # a search spread over workers or Ray nodes
        headers.append("ran on")
        for cell, row in zip(cells, rows):
            cell.append(row["ran_on"] or "-")
    lines = text_table(headers, cells, right={0, 3, 4, 5})
    if len(rows) > limit:
        lines.append(f"... {len(rows) - limit} more in the report")
    return lines


def exports_lines(report: dict) -> list[str]:
    """The exported files as the terminal shows them at the end of a run: file, size, the headline
    metric on LiteRT, latency, and why a file was left out."""
    from pathlib import Path

    from automl.readable import number, size

    metric = report.get("headline_metric") or "metric"
    cells = [[Path(row["path"]).name, size(row.get("bytes")), number((row.get("test_metrics") or {}).get(metric)),
              f"{row['latency_ms']:.3g} ms" if row.get("latency_ms") is not None else "-",
              "left out: " + str(row["rejected"]).splitlines()[0][:80] if row.get("rejected") else ""]
             for row in report.get("exports", [])]
    return text_table(["file", "size", metric, "latency", ""], cells, right={1, 2, 3}) if cells else []
