"""report.html: a page a person reads, built from report.json's contents."""

from __future__ import annotations

import html
import json
from pathlib import Path

from automl.report import figures


def table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    if value is None:
        return "-"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _img(png: str | None, alt: str) -> str:
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{png}">' if png else ""


def _leaderboard(report: dict) -> str:
    trials = report.get("search", {}).get("trials", [])
    if not trials:
        return ""
    best = report.get("best", {}).get("trial_id")
    direction = report.get("best", {}).get("objective", {}).get("direction", "max")
    rows = [[("★ " if t["trial_id"] == best else "") + t["trial_id"], t.get("rung", 0), t["status"], t["objective"],
             t["seconds"], t.get("error") or (f"continues {t['continues']}" if t.get("continues")
                                               else t["hyperparameters"])] for t in trials]
    # Baselines need no training; their validation score is on the objective's scale.
    notes = report.get("baseline_notes", {})
    for name, value in report.get("baseline_validation", {}).items():
        rows.append([f"baseline/{name}", None, "baseline", value, None, notes.get(name, "rule, no parameters")])
    rows.sort(key=lambda r: (r[3] is None, -(r[3] or 0) if direction == "max" else (r[3] or 0)))
    name = report.get("best", {}).get("objective", {}).get("name", "objective")
    note = " (stopped by the time limit)" if report["search"].get("stopped_by_time_limit") else ""
    return f"<h2>Search trials{note}</h2>" + table(["trial", "rung", "status", name, "seconds", "hyperparameters / error"], rows)


def _exports(report: dict) -> str:
    rows = []
    for e in report.get("exports", []):
        metrics = e.get("test_metrics", {})
        name = report.get("headline_metric") if report.get("headline_metric") in metrics else None
        headline = f"{name} {metrics[name]:.4f}" if name else None
        closeness = closeness_text(e.get("vs_keras")) or None
        size = f"{e['bytes'] / 1024:.1f} KiB" if "bytes" in e else None  # a compression that failed made no file
        gzipped = f"{e['gzip_bytes'] / 1024:.1f} KiB" if "gzip_bytes" in e else None
        rows.append([Path(e["path"]).name, e.get("quantization", e["format"]), e.get("compression", "none"), size,
                     gzipped, headline, closeness, e.get("latency_ms"), ", ".join(e.get("flex_ops", [])) or "-",
                     e.get("rejected", "")])
    if not rows:
        return ""
    return "<h2>Exports (verified on LiteRT over the test split)</h2>" + table(
        ["file", "quantization", "compression", "size", "gzipped", "test metric", "vs Keras", "ms / example",
         "Flex ops", "left out"], rows)


def closeness_text(comparison) -> str:
    """What the task said of a file against the Keras model (`Task.compare`), as one phrase."""
    return ", ".join(f"{name.replace('_', ' ')} {_number(value)}" for name, value in (comparison or {}).items())


def _number(value) -> str:
    if isinstance(value, float) and value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.2e}"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _selector(report: dict) -> str:
    sel = report.get("selector")
    if not sel:
        return ""
    trials = report.get("search", {}).get("trials", [])
    rows = [[c["family"], c["score"], sum(1 for t in trials if t.get("family") == c["family"]),
             "; ".join(c["reasons"])] for c in sel["families"]]
    rows += [[e["family"], "-", 0, "excluded: " + e["reason"]] for e in sel["excluded"]]
    return "<h2>Families chosen</h2>" + table(["family", "score", "trials", "reasons"], rows)


def escape(text: str) -> str:
    return html.escape(str(text))


def write_html_report(report: dict, path: Path, task=None, examples=None) -> None:
    """Writes the HTML report; the task adds its sections, and `examples` =
    (data, x_test, y_test, outputs) its figures."""
    parts = [f"<h1>automl run: {html.escape(str(report.get('name')))} ({html.escape(report['task'])})</h1>",
             f"<p class='{report['status']}'>Status: <b>{html.escape(report['status'])}</b>"
             f"{' - ' + html.escape(report['error']) if report.get('error') else ''}</p>"]
    for warning in report.get("warnings", []):
        parts.append(f"<p class='failed'><b>Warning:</b> {html.escape(warning)}</p>")
    if report.get("test_metrics"):
        shown = {k: v for k, v in report["test_metrics"].items() if isinstance(v, (int, float))}
        parts.append("<h2>Test metrics (Keras model, held-out split)</h2>" + table(list(shown), [list(shown.values())]))
    if report.get("baselines"):
        keys = [k for k, v in report["test_metrics"].items() if isinstance(v, float)]
        rows = [["model", *(report["test_metrics"][k] for k in keys)]]
        rows += [[name, *(m.get(k) for k in keys)] for name, m in report["baselines"].items()]
        parts.append("<h2>Against baselines (test split)</h2>" + table(["model or rule", *keys], rows))
    for title, section in task.report_view.report_sections(report) if task is not None else []:
        parts.append(f"<h2>{html.escape(title)}</h2>" + section)
    parts.append(_exports(report))
    if report.get("dataset"):
        d = {k: v for k, v in report["dataset"].items() if k not in ("class_names", "skipped_examples")}
        parts.append("<h2>Data</h2>" + table(["key", "value"], [[k, v] for k, v in d.items()]))
    parts.append(_selector(report))
    parts.append(_leaderboard(report))
    if report.get("best"):
        parts.append("<h2>Best configuration</h2>" + table(
            ["hyperparameter", "value"], [[k, v] for k, v in report["best"]["hyperparameters"].items()]))
    compared = report.get("finetune", {}).get("compared")
    if compared:
        rows = [[c["trial_id"], c["validation"], c["epochs_run"], c["seconds"], f"{c['params']:,}"] for c in compared]
        parts.append("<h2>Fine-tuned: the search's best and its second choice</h2>"
                     f"<p>Kept {escape(report['finetune']['kept'])}: {escape(report['finetune']['why'])}</p>"
                     + table(["trial", "validation", "epochs", "seconds", "parameters"], rows))
    if report.get("inference") and task is not None:
        parts.append(f"<h2>Inference model</h2><p>{escape(task.report_view.describe_inference(report['inference']))}</p>")
    history = report.get("finetune", {}).get("history")
    if history:
        parts.append("<h2>Fine-tuning learning curves</h2>" + _img(figures.learning_curves(history), "learning curves"))
    if task is not None and examples is not None:
        data, x_test, y_test, outputs = examples
        for title, png in task.report_view.report_figures(report, data, x_test, y_test, outputs):
            parts.append(f"<h2>{html.escape(title)}</h2>" + _img(png, title))
    search = report.get("search", {})
    curve = figures.objective_by_time(search.get("objective_by_time", []),
                                      report.get("best", {}).get("objective", {}).get("name", "objective"))
    if curve:
        parts.append("<h2>Search: best objective against time</h2>" + _img(curve, "objective against time"))
    if search.get("notes"):  # what the search decided on its own: a plan fitted, grown, compared at matched time
        parts.append("<h2>Search notes</h2>" + "".join(f"<p>{escape(note)}</p>" for note in search["notes"]))
    timings = report.get("timings", {})
    limits = report.get("time_limits", {})
    rows = [["used", *timings.values()]]
    if limits:
        rows.append(["time limit", *(limits.get("run" if k == "total_seconds" else k) for k in timings)])
    parts.append("<h2>Budget (seconds)</h2>" + table(["", *timings], rows)
                 + "".join(f"<p>{escape(note)}</p>" for note in report.get("time_notes", [])))
    if report.get("runtime"):
        parts.append(f"<p>Runtime: {html.escape(json.dumps(report['runtime']))}</p>")
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;"
             "padding:3px 8px;font-size:13px;text-align:left;vertical-align:top}th{background:#f3f3f3}"
             ".failed b{color:crimson}.succeeded b{color:green}img{max-width:100%}")
    page = f"<!doctype html><html><head><meta charset='utf-8'><title>automl report</title><style>{style}</style></head><body>{''.join(parts)}</body></html>"
    path.write_text(page, encoding="utf-8")
