"""What the terminal and the report show of a task: the data line, the metrics each epoch's
progress line shows, the line on the inference model, and the report's sections, figures and
listed examples. `ReportView` shows what every task has; a task hands over a subclass from
`Task.report_view` to show its own (a confusion matrix, forecasts against the truth, masks).
"""

from __future__ import annotations

from typing import Optional


class ReportView:
    """The default view of a task's runs.

    Args:
        task: the `Task` whose runs are shown.
    """

    def __init__(self, task):
        self.task = task

    def describe_inference(self, inference: dict) -> str:
        """One line on what `inference_model` chose."""
        return ", ".join(f"{key} {value}" for key, value in inference.items())

    def report_figures(self, report, data, inputs, targets, outputs) -> list:
        """(title, base64 PNG) pairs the HTML report shows for this task."""
        return []

    def describe_profile(self, profile: dict) -> str:
        """The data line of the terminal: sizes and how the split was made (tasks add their facts)."""
        split = ", ".join(f"{k} {v}" for k, v in profile.get("split_sizes", {}).items())
        method = f": {profile['split_method']}" if profile.get("split_method") else ""
        return f"{profile.get('examples')} examples ({split}{method})"

    def shown_metrics(self) -> tuple[str, ...]:
        """Epoch metrics the progress lines show: the loss and the task's metrics, train and validation."""
        names = ("loss", *self.task.goal.metric_names)
        return (*names, *(f"val_{n}" for n in names))

    def report_examples(self, data, targets, outputs) -> Optional[list[dict]]:
        """Test examples worth listing in report.json (misclassified texts, say); None for none."""
        return None

    def report_sections(self, report: dict) -> list[tuple[str, str]]:
        """(title, HTML) sections of the report built from report.json alone (tables, lists)."""
        return []
