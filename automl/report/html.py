"""report.html: a page a person reads, built from report.json's contents.

One self-contained file (figures inline as PNG): tables of values, never JSON; numbers as
`automl.readable` writes them; what the task adds comes from its `ReportView`.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from automl import readable
from automl.leaderboard import leaderboard_rows, objective_name
from automl.progress import format_seconds
from automl.report import figures


def table(headers: list[str], rows: list[list], numeric: bool = True) -> str:
    """An HTML table; numbers readable and right-aligned, dicts and lists as phrases."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(c, numeric) for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(value, numeric: bool) -> str:
    if isinstance(value, Raw):
        return f"<td>{value.markup}</td>"
    is_number = (numeric and isinstance(value, (int, float)) and not isinstance(value, bool)
                 or isinstance(value, str) and re.fullmatch(r"[\d.,]+ (KiB|MiB)", value) is not None)
    return f"<td class='num'>{escape(readable.number(value))}</td>" if is_number else f"<td>{escape(readable.phrase(value))}</td>"


class Raw:
    """Markup a table cell holds as it is (a link, a bar)."""

    def __init__(self, markup: str):
        self.markup = markup


def escape(text) -> str:
    return html.escape(str(text))


def first_line(text) -> str:
    """An error as its one-line reason (a traceback's or a network exception's first line)."""
    line = str(text or "").strip().splitlines()[0] if str(text or "").strip() else ""
    return line if len(line) <= 240 else line[:237] + "..."


def _img(png: str | None, alt: str) -> str:
    return f'<img alt="{escape(alt)}" src="data:image/png;base64,{png}">' if png else ""


def task_title(task: str) -> str:
    return task.replace("_", " ").capitalize()


def _header(report: dict) -> str:
    name, task = report.get("name") or report["task"], report["task"]
    title = task_title(task) if name == task else f"{escape(name)}"
    run = report.get("run", {})
    facts = [task_title(task) if name != task else None, run.get("started"),
             f"{format_seconds(report.get('timings', {}).get('total_seconds'))} in all"
             if report.get("timings", {}).get("total_seconds") else None]
    status = report["status"]
    error = f" - {escape(first_line(report['error']))}" if report.get("error") else ""
    return (f"<h1>{escape(title)}</h1><p class='facts'>{' · '.join(escape(f) for f in facts if f)}</p>"
            f"<p class='status {status}'>Status: <b>{escape(status)}</b>{error}</p>")


def _summary(report: dict) -> str:
    """The figures a reader looks for first: the headline metric, the best family, the file to ship."""
    metric = report.get("headline_metric")
    cards = []
    if metric and metric in report.get("test_metrics", {}):
        cards.append((metric.replace("_", " "), readable.number(report["test_metrics"][metric]), "Keras model, test split"))
    if report.get("best"):
        best = report["best"]
        cards.append(("best family", best["family"], f"trial {best['trial_id'].split('/')[-1]}"))
    ship = _file_to_ship(report)
    if ship:
        cards.append(("file to ship", Path(ship["path"]).name, _ship_reason(report, ship)))
    if not cards:
        return ""
    return "<div class='cards'>" + "".join(
        f"<div class='card'><div class='label'>{escape(label)}</div><div class='value'>{escape(value)}</div>"
        f"<div class='note'>{escape(note)}</div></div>" for label, value, note in cards) + "</div>"


def _file_to_ship(report: dict):
    """The file the model card tells apps to ship (`app_snippets.pick_file`: the smallest MediaPipe
    ran), else the smallest TFLite file kept (a task MediaPipe has no API for)."""
    from automl.app_snippets import pick_file

    rows = report.get("exports", [])
    kept = [e for e in rows if e.get("format") == "tflite" and "bytes" in e and not e.get("rejected")]
    return pick_file(rows) or (min(kept, key=lambda e: e["bytes"]) if kept else None)


def _ship_reason(report: dict, row: dict) -> str:
    metric = report.get("headline_metric")
    value = (row.get("test_metrics") or {}).get(metric)
    shown = f", {metric.replace('_', ' ')} {readable.number(value)} on LiteRT" if value is not None else ""
    which = "the smallest file MediaPipe ran" if "vs_keras" in (row.get("mediapipe") or {}) else "the smallest file kept"
    return f"{which}: {readable.size(row['bytes'])}{shown}"


def _metrics(report: dict) -> str:
    shown = {k: v for k, v in report.get("test_metrics", {}).items() if isinstance(v, (int, float))
             and not isinstance(v, bool)}
    if not shown:
        return ""
    if report.get("baselines"):
        keys = [k for k in shown if isinstance(shown[k], float)]
        rows = [["the model", *(shown[k] for k in keys)]]
        rows += [[name, *(m.get(k) for k in keys)] for name, m in report["baselines"].items()]
        return ("<h2>Test metrics, against rules that need no training</h2>"
                + table(["model or rule", *(k.replace("_", " ") for k in keys)], rows))
    return "<h2>Test metrics (Keras model, held-out split)</h2>" + table(
        ["metric", "value"], [[k.replace("_", " "), v] for k, v in shown.items()])


def _exports(report: dict) -> str:
    rows, metric = [], report.get("headline_metric")
    for e in report.get("exports", []):
        value = (e.get("test_metrics") or {}).get(metric)
        rows.append([Path(e["path"]).name, e.get("quantization", e["format"]), e.get("compression", "none"),
                     readable.size(e.get("bytes")), readable.size(e.get("gzip_bytes")), value,
                     closeness_text(e.get("vs_keras")) or "-", e.get("latency_ms"),
                     ", ".join(e.get("flex_ops", [])) or "-", first_line(e.get("rejected")) or "-"])
    if not rows:
        return ""
    chart = figures.exports_chart(report.get("exports", []), metric)
    return ("<h2>Exported files (each verified on LiteRT over the test split)</h2>" + table(
        ["file", "quantization", "compression", "size", "gzipped", (metric or "metric").replace("_", " "),
         "vs Keras", "ms per example", "Flex ops", "left out"], rows) + _img(chart, "size, latency and metric of each file"))


def closeness_text(comparison) -> str:
    """What the task said of a file against the Keras model (`Task.compare`), as one phrase."""
    return ", ".join(f"{name.replace('_', ' ')} {readable.number(value)}" for name, value in (comparison or {}).items())


def _data(report: dict) -> str:
    dataset = report.get("dataset")
    if not dataset:
        return ""
    hidden = ("class_names", "skipped_examples", "train_class_counts")
    rows = [[key.replace("_", " "), _data_value(key, value)] for key, value in dataset.items() if key not in hidden]
    out = "<h2>Data</h2>" + table(["", ""], rows)
    names, counts = dataset.get("class_names"), dataset.get("train_class_counts")
    if names and counts and len(names) == len(counts):
        out += "<h3>Training examples per class</h3>" + table(["class", "examples"], [[n, c] for n, c in zip(names, counts)])
    return out


def _data_value(key: str, value):
    if key == "split_sizes" and isinstance(value, dict):
        return " · ".join(f"{part} {readable.number(n)}" for part, n in value.items())
    if key == "image_size" and isinstance(value, list):
        return " x ".join(map(str, value)) + " px"
    if isinstance(value, list) and not value:
        return "none"
    return value


def _selector(report: dict) -> str:
    sel = report.get("selector")
    if not sel:
        return ""
    trials = report.get("search", {}).get("trials", [])
    rows = [[c["family"], c["score"], sum(1 for t in trials if t.get("family") == c["family"]),
             "; ".join(c["reasons"])] for c in sel["families"]]
    rows += [[e["family"], "-", 0, "not used: " + first_line(e["reason"])] for e in sel["excluded"]]
    return "<h2>Families considered</h2>" + table(["family", "score", "trials", "why"], rows)


def _leaderboard(report: dict) -> str:
    rows = leaderboard_rows(report)
    if not rows:
        return ""
    note = " (stopped by the time limit)" if report["search"].get("stopped_by_time_limit") else ""
    spread = any(r["ran_on"] for r in rows)  # over workers or Ray nodes: say where each trial trained
    cells = [[r["rank"], ("★ " if r["best"] else "") + r["trial"], r["rung"], r["status"], r["objective"], r["epochs"],
              format_seconds(r["seconds"]) if r["seconds"] is not None else None, r["parameters"],
              *([r["ran_on"]] if spread else []),
              first_line(r["notes"]) or readable.phrase(r["hyperparameters"])] for r in rows]
    return (f"<h2>Search trials, best first{note}</h2>"
            + table(["rank", "trial", "rung", "status", objective_name(report).replace("_", " "), "epochs", "time",
                     "parameters", *(["ran on"] if spread else []), "hyperparameters / notes"], cells))


def _finetune(report: dict) -> str:
    tuned = report.get("finetune") or {}
    out = ""
    if report.get("best"):
        out += "<h2>Best configuration</h2>" + table(
            ["hyperparameter", "value"], [[k.replace("_", " "), v] for k, v in report["best"]["hyperparameters"].items()])
    if tuned.get("compared"):
        rows = [[c["trial_id"], c["validation"], c["epochs_run"], format_seconds(c["seconds"]), c["params"]]
                for c in tuned["compared"]]
        out += ("<h2>Fine-tuned: the search's best and its second choice</h2>"
                f"<p>Kept {escape(tuned['kept'])}: {escape(tuned['why'])}</p>"
                + table(["trial", "validation", "epochs", "time", "parameters"], rows))
    history = tuned.get("history")
    best = report.get("best", {}).get("objective", {})
    curves = figures.learning_curves(history, best.get("name"), best.get("direction")) if history else None
    if curves:  # a task whose epochs log no train/validation pairs (a GAN's) draws its own
        out += "<h2>Fine-tuning learning curves</h2>" + _img(curves, "learning curves")
    if tuned.get("stages"):
        out += ("" if curves else "<h2>Fine-tuning</h2>") + "<p>" + escape("; ".join(tuned["stages"])) + "</p>"
    return out


def _budget(report: dict) -> str:
    timings, limits = report.get("timings", {}), report.get("time_limits", {})
    if not timings:
        return ""
    rows = [[stage.replace("_seconds", "").replace("total", "whole run"), format_seconds(seconds),
             format_seconds(limits.get("run" if stage == "total_seconds" else stage))
             if limits.get("run" if stage == "total_seconds" else stage) else "-"]
            for stage, seconds in timings.items()]
    notes = "".join(f"<p>{escape(note)}</p>" for note in report.get("time_notes", []))
    return "<h2>Time</h2>" + table(["stage", "used", "limit"], rows) + notes


def _about(report: dict) -> str:
    run, runtime = report.get("run", {}), report.get("runtime", {})
    machine = run.get("machine", {})
    rows = []
    if run.get("command"):
        rows.append(["command", Raw(f"<code>{escape(run['command'])}</code>")])
    if run.get("started"):
        rows.append(["started", run["started"]])
    if machine:
        memory = f", {machine['memory_gib']} GiB memory" if machine.get("memory_gib") else ""
        rows.append(["machine", f"{machine.get('cpu')}, {machine.get('cores')} cores{memory}, {machine.get('system')}"])
    if runtime:
        rows.append(["ran on", f"{', '.join(runtime.get('devices', []))} ({runtime.get('strategy')}), "
                               f"precision {runtime.get('precision_policy')}"])
    if run.get("versions"):
        rows.append(["versions", ", ".join(f"{name} {version}" for name, version in run["versions"].items() if version)])
    rows.append(["seed", report.get("seed")])
    return "<h2>About this run</h2>" + table(["", ""], rows, numeric=False)


STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1150px;margin:2em auto;padding:0 1em;color:#222;
 font-size:15px;line-height:1.45}
h1{margin-bottom:.1em}h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}h3{font-size:15px}
.facts{color:#555;margin-top:0}.status.failed b,.status.interrupted b{color:crimson}.status.succeeded b{color:green}
table{border-collapse:collapse;margin:.5em 0 1em}td,th{border:1px solid #d6d6d6;padding:4px 9px;text-align:left;
 vertical-align:top}th{background:#f3f4f6}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
img{max-width:100%;display:block;margin:.5em 0}code{font-size:13px}
.cards{display:flex;gap:1em;flex-wrap:wrap;margin:1em 0}.card{border:1px solid #ddd;border-radius:8px;padding:.7em 1em;
 min-width:200px}.card .label{color:#555;font-size:13px}.card .value{font-size:22px;font-weight:600}
.card .note{color:#666;font-size:13px}.toggle label{margin-right:1em;cursor:pointer}
.matrix td{min-width:2.2em;text-align:center}.matrix th.row{text-align:right}
"""

TOGGLE_SCRIPT = """<script>
function showChoice(group, index){document.querySelectorAll('[data-group="'+group+'"]').forEach(
  function(el){el.hidden = el.dataset.index !== String(index);});}
</script>"""


def toggle(group: str, views: list[tuple[str, str]]) -> str:
    """Radio buttons that show one of `views` ((label, HTML) pairs) at a time; the first shown."""
    buttons = "".join(
        f"<label><input type='radio' name='{group}' {'checked ' if i == 0 else ''}"
        f"onchange=\"showChoice('{group}', {i})\"> {escape(label)}</label>" for i, (label, _) in enumerate(views))
    panels = "".join(f"<div data-group='{group}' data-index='{i}'{'' if i == 0 else ' hidden'}>{body}</div>"
                     for i, (_, body) in enumerate(views))
    return f"<div class='toggle'>{buttons}</div>{panels}"


def write_html_report(report: dict, path: Path, task=None, examples=None) -> None:
    """Writes the HTML report; the task adds its sections, and `examples` =
    (data, x_test, y_test, outputs) its figures."""
    parts = [_header(report)]
    for warning in report.get("warnings", []):
        parts.append(f"<p class='status failed'><b>Warning:</b> {escape(warning)}</p>")
    parts += [_summary(report), _metrics(report)]
    for title, section in task.report_view.report_sections(report) if task is not None else []:
        parts.append(f"<h2>{escape(title)}</h2>" + section)
    parts.append(_exports(report))
    if report.get("inference") and task is not None:
        parts.append(f"<h2>Inference model</h2><p>{escape(task.report_view.describe_inference(report['inference']))}</p>")
    if task is not None and examples is not None:
        data, x_test, y_test, outputs = examples
        for title, png in task.report_view.report_figures(report, data, x_test, y_test, outputs):
            parts.append(f"<h2>{escape(title)}</h2>" + _img(png, title))
    parts += [_finetune(report), _data(report), _selector(report), _leaderboard(report)]
    search = report.get("search", {})
    curve = figures.objective_by_time(search.get("objective_by_time", []), objective_name(report))
    if curve:
        parts.append("<h2>Search: best objective against time</h2>" + _img(curve, "objective against time"))
    if search.get("notes"):  # what the search decided on its own: a plan fitted, grown, compared at matched time
        parts.append("<h2>Search notes</h2>" + "".join(f"<p>{escape(note)}</p>" for note in search["notes"]))
    parts += [_budget(report), _about(report)]
    title = escape(report.get("name") or report["task"])
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}: automl report</title>"
            f"<style>{STYLE}</style>{TOGGLE_SCRIPT}</head><body>{''.join(p for p in parts if p)}</body></html>")
    path.write_text(page, encoding="utf-8")
