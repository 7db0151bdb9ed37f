"""The run directory: a new result replaces the last complete one only once it is complete.

While a run works, its report grows in `report.partial.json`; the bundle is
written to `export.partial/`, its zip to `export.partial.zip`, the HTML report
to `report.partial.html`. A run that completes publishes the four together:
a journal (`publishing.json`) is written, each piece is renamed into place
(`export/`, `export.zip`, `report.html`, and `report.json` last), and the
journal is removed. A kill during publication leaves the journal, and the
next command on the directory (a run, `automl export`, `automl predict`)
finishes the renames first: every piece was complete before the journal was
written, so the result is always the old one or the new one, never a mix.
A run that fails (or fails its own gates, `export.require_all`) or is
interrupted leaves the previous complete result in place; its own record
stays in the partial files.

The search is reused by a rerun only when what it depends on (task, data,
search settings, seed) is unchanged: a fingerprint is kept beside it.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from automl.progress import say, stop_heartbeat

REPORT, PARTIAL_REPORT = "report.json", "report.partial.json"
HTML, PARTIAL_HTML = "report.html", "report.partial.html"
EXPORT, PARTIAL_EXPORT = "export", "export.partial"
ZIP, PARTIAL_ZIP = "export.zip", "export.partial.zip"
JOURNAL = "publishing.json"
#: What a complete run publishes, (staged, final); the report last: it is what readers trust.
PUBLISHED = ((PARTIAL_EXPORT, EXPORT), (PARTIAL_ZIP, ZIP), (PARTIAL_HTML, HTML), (PARTIAL_REPORT, REPORT))
SEARCH = "search"
STAGES = "stages.json"


def _jsonable(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def write_json(path: Path, content: dict) -> None:
    """Writes beside, then renames: a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(content, indent=2, default=_jsonable), encoding="utf-8")
    tmp.replace(path)


class Recorder:
    """Holds the report as it grows, rewrites it as each stage starts and ends, and publishes it.

    Stages that resume (search, fine-tuning) keep their seconds in `stages.json`
    across invocations, so timings and time limits count all the work, not the
    last invocation's.
    """

    def __init__(self, out_dir: Path, report: dict):
        finish_publication(out_dir)  # a killed run's publication, before anything reads the directory
        self.out_dir, self.report = out_dir, report
        self.started = time.time()
        self.book_path = out_dir / STAGES
        self.book = json.loads(self.book_path.read_text()) if self.book_path.exists() else {}

    def write(self) -> None:
        self.report["timings"]["total_seconds"] = round(sum(
            v for k, v in self.report["timings"].items() if k != "total_seconds"), 1)
        write_json(self.out_dir / PARTIAL_REPORT, self.report)

    def publish_incomplete(self) -> tuple[Path, Path]:
        """A run that failed or was interrupted: its report becomes the directory's only when there
        is no earlier one; returns where its JSON and HTML reports are."""
        self.write()
        if not (self.out_dir / REPORT).exists():
            (self.out_dir / PARTIAL_REPORT).replace(self.out_dir / REPORT)
            (self.out_dir / PARTIAL_HTML).unlink(missing_ok=True)
            return self.out_dir / REPORT, self.out_dir / HTML
        return self.out_dir / PARTIAL_REPORT, self.out_dir / PARTIAL_HTML

    def publish_complete(self) -> None:
        """Publishes the staged report, HTML, bundle and zip together (see the module's docstring)."""
        self.write()
        write_json(self.out_dir / JOURNAL, {"pieces": PUBLISHED})
        finish_publication(self.out_dir)

    def complete_report(self, fingerprint: str) -> dict | None:
        """The run directory's report when it is a complete run of the same work, else None."""
        path = self.out_dir / REPORT
        if not path.exists() or not (self.out_dir / EXPORT).is_dir():
            return None
        report = json.loads(path.read_text(encoding="utf-8"))
        return report if report.get("status") == "succeeded" and report.get("fingerprint") == fingerprint else None

    def discard(self) -> None:
        """Drops this invocation's partial report (it would only repeat the complete one)."""
        (self.out_dir / PARTIAL_REPORT).unlink(missing_ok=True)

    def write_book(self) -> None:
        write_json(self.book_path, self.book)

    def spent(self, name: str) -> float:
        """Seconds earlier invocations spent in a resumable stage (0 when it starts afresh)."""
        return float(self.book.get(name, {}).get("seconds", 0.0))

    @contextmanager
    def stage(self, name: str, fingerprint: str | None = None):
        """Times a stage; with a fingerprint, its seconds add up over invocations that share it."""
        if fingerprint is not None and self.book.get(name, {}).get("fingerprint") != fingerprint:
            self.book[name] = {"fingerprint": fingerprint, "seconds": 0.0}
        from automl.disk import ensure_room

        ensure_room(self.out_dir, 0, f"the {name} stage")
        start = time.time()
        self.report["stage"] = name
        self.write()
        try:
            yield
        finally:
            stop_heartbeat()  # an epoch a failure cut short leaves none beating into the next stage
            seconds = time.time() - start
            if fingerprint is not None:
                self.book[name]["seconds"] = round(self.spent(name) + seconds, 1)
                self.write_book()
                seconds = self.spent(name)
            self.report["timings"][name] = round(seconds, 1)
            self.write()


def finish_publication(out_dir: Path) -> None:
    """Finishes the renames of a publication a kill interrupted (nothing when there is none): each
    staged piece still there replaces its final one, then what it replaced is removed. Safe to
    repeat at any point."""
    if not (out_dir / JOURNAL).exists():
        return
    for staged, final in PUBLISHED:
        source, target, old = out_dir / staged, out_dir / final, out_dir / f"{final}.old"
        if source.exists():
            if target.exists():
                _remove(old)
                target.replace(old)
            source.replace(target)
    for _, final in PUBLISHED:
        _remove(out_dir / f"{final}.old")
    (out_dir / JOURNAL).unlink()


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def as_published(out_dir: Path, rows: list[dict]) -> None:
    """Points export rows written into `export.partial/` at where publication puts them."""
    for row in rows:
        row["path"] = str(out_dir / EXPORT / Path(row["path"]).relative_to(out_dir / PARTIAL_EXPORT))


def fresh_partial_export(out_dir: Path) -> Path:
    path = out_dir / PARTIAL_EXPORT
    shutil.rmtree(path, ignore_errors=True)
    (out_dir / PARTIAL_ZIP).unlink(missing_ok=True)
    return path


# ---------------------------------------------------------------- what the search depends on


def data_fingerprint(path: str, arrays=None) -> str:
    """Changes when the data does: array contents, or the names, sizes and times of the files."""
    digest = hashlib.sha256()
    if arrays is not None:
        import numpy as np

        items = arrays.items() if isinstance(arrays, dict) else enumerate(arrays)
        if hasattr(arrays, "columns"):  # a DataFrame
            items = ((name, arrays[name].to_numpy()) for name in arrays.columns)
        for key, value in items:
            digest.update(str(key).encode())
            digest.update(np.ascontiguousarray(np.asarray(value)).astype(str if np.asarray(value).dtype == object
                                                                          else np.asarray(value).dtype).tobytes())
        return digest.hexdigest()[:16]
    root = Path(path)
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
    for file in files:
        stat = file.stat()
        digest.update(f"{file.relative_to(root) if root.is_dir() else file.name}|{stat.st_size}|"
                      f"{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


#: Search settings that bound how many trials run, not what a trial does: changing them
#: continues the saved trials instead of discarding them.
#: Search keys a search's trials do not depend on: its budgets, and where trials run (a search moves
#: between one process, chief and workers and a Ray cluster and resumes).
SEARCH_BUDGET_KEYS = {"time_limit", "max_trials", "max_consecutive_failed_trials", "lease", "engine", "ray"}


def fingerprint(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def search_fingerprint(config, data_print: str) -> str:
    """What the search's trials depend on: the task, the data and its settings, the search
    settings, the constraints and the seed (not its budgets, fine-tuning or export)."""
    keys = config.model_dump(mode="json", include={"task", "data", "search", "constraints", "seed"})
    keys["search"] = {k: v for k, v in keys["search"].items() if k not in SEARCH_BUDGET_KEYS}
    return fingerprint(keys, data_print)


def prepare_search_dir(out_dir: Path, fingerprint: str) -> None:
    """Keeps an earlier search only if it ran on the same data and settings; else moves it aside."""
    search = out_dir / SEARCH
    stamp = search / "fingerprint.json"
    if search.exists():
        previous = json.loads(stamp.read_text()).get("fingerprint") if stamp.exists() else None
        if previous == fingerprint:
            return
        replaced = out_dir / "search.replaced"
        shutil.rmtree(replaced, ignore_errors=True)
        search.replace(replaced)
        say("search", f"the data or search settings changed since the search in {search}: searching again "
                      f"(the old one is in {replaced})")
    search.mkdir(parents=True, exist_ok=True)
    write_json(stamp, {"fingerprint": fingerprint})
