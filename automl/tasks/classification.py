"""What classification tasks share: softmax head objective, loss, metrics, agreement."""

from __future__ import annotations

import numpy as np

from automl.tasks.base import Task, handed_over
from automl.tasks.goal import Goal
from automl.report_view import ReportView


def classification_metrics(labels: np.ndarray, probs: np.ndarray, num_classes: int) -> dict:
    """Accuracy, macro-F1, per-class F1 and the confusion matrix (rows = truth)."""
    labels = np.asarray(labels).astype(int)
    predicted = np.asarray(probs).argmax(axis=-1)
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    _, _, f1, support = _precision_recall_f1(confusion)
    present = support > 0
    return {
        "accuracy": float(np.trace(confusion) / max(len(labels), 1)),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "per_class_f1": [round(float(v), 4) for v in f1],
        "confusion_matrix": confusion.tolist(),
        "examples": int(len(labels)),
    }


class ClassificationTask(Task):
    """Base of the image and text classification tasks."""

    goal = Goal("val_accuracy", "max", metric_names=("accuracy",), headline="accuracy")

    report_view = handed_over("automl.tasks.classification:ClassificationView")

    def model_outputs(self, hp, inputs, backbone, data):
        """The subclass's softmax head (`build_head`) on the backbone's features."""
        return self.build_head(hp, backbone(inputs), data)

    def label_profile(self, data) -> dict:
        """Class names, training counts per class and the imbalance ratio."""
        counts = np.bincount(data.train.labels, minlength=len(data.class_names))
        return {
            "num_classes": len(data.class_names),
            "class_names": data.class_names,
            "train_class_counts": counts.tolist(),
            "imbalance_ratio": round(float(counts.max() / max(counts.min(), 1)), 3),
        }

    def loss(self, hp):
        return "sparse_categorical_crossentropy"

    def metrics(self) -> list:
        return ["accuracy"]

    def evaluate(self, targets, outputs, data) -> dict:
        return classification_metrics(targets, outputs, outputs.shape[-1])

    #: A label and its confidence per input.
    bundle_reader = handed_over("automl.bundle_reader:LabelReader")

class ClassificationView(ReportView):
    """What the terminal and the report show of ClassificationTask runs."""

    def describe_profile(self, profile: dict) -> str:
        return f"{super().describe_profile(profile)}, {profile['num_classes']} classes, imbalance {profile['imbalance_ratio']}"

    def report_sections(self, report: dict) -> list[tuple[str, str]]:
        """Precision, recall, F1 and support per class, and the confusion matrix of the Keras model
        and of each exported file (one shown at a time), from the matrices report.json keeps."""
        from automl.report.html import table, toggle

        matrix = report.get("test_metrics", {}).get("confusion_matrix")
        names = report.get("dataset", {}).get("class_names")
        if not matrix or not names:
            return []
        rows = [[name, *(f"{score:.3f}" for score in scores[:3]), scores[3]]
                for name, scores in zip(names, per_class_scores(matrix))]
        views = [("Keras model", confusion_table(matrix, names))]
        for row in report.get("exports", []):
            other = (row.get("test_metrics") or {}).get("confusion_matrix")
            if other and row.get("format") == "tflite":
                views.append((row["path"].rsplit("/", 1)[-1], confusion_table(other, names)))
        return [("Per class (test split, Keras model)",
                 table(["class", "precision", "recall", "F1", "support"], rows)),
                ("Confusion matrix (test split; rows are the true class)", toggle("confusion", views))]


def _precision_recall_f1(matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall, F1 and support per class of a confusion matrix whose rows are the truth
    (0 where a class is never predicted or never true)."""
    confusion = np.asarray(matrix, dtype=float)
    true_pos, predicted, actual = np.diag(confusion), confusion.sum(0), confusion.sum(1)
    precision = np.divide(true_pos, predicted, out=np.zeros_like(true_pos), where=predicted > 0)
    recall = np.divide(true_pos, actual, out=np.zeros_like(true_pos), where=actual > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(true_pos), where=total > 0)
    return precision, recall, f1, actual


def per_class_scores(matrix) -> list[tuple[float, float, float, int]]:
    """(precision, recall, F1, support) per class, as the report's per-class table shows them."""
    return [(float(p), float(r), float(f), int(n)) for p, r, f, n in zip(*_precision_recall_f1(matrix))]


def confusion_table(matrix, names: list[str]) -> str:
    """A confusion matrix as an HTML table, cells shaded by their share of the row (readable text)."""
    from automl.report.html import escape

    counts = np.asarray(matrix)
    head = "<tr><th>true \\ predicted</th>" + "".join(f"<th>{escape(n)}</th>" for n in names) + "</tr>"
    body = []
    for name, row in zip(names, counts):
        total = max(int(row.sum()), 1)
        cells = []
        for value in row:
            share = value / total
            colour = "color:#fff;" if share > 0.55 else ""
            cells.append(f"<td style='background:rgba(31,119,180,{share:.2f});{colour}'>{int(value)}</td>")
        body.append(f"<tr><th class='row'>{escape(name)}</th>{''.join(cells)}</tr>")
    return f"<table class='matrix'>{head}{''.join(body)}</table>"
