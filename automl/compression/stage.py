"""The export stage's compressed files: one tfmot worker process per technique.

A `.compression/` folder inside the bundle being made holds the trained model and the task's data
(once), and a folder with a spec per technique (all of it removed when done); `tfmot_worker` (a process of its own: tfmot switches the whole process
to tf_keras) writes `model.tflite` and `result.json` there, and the file joins the bundle as
`model_<technique>_int8.tflite`. A technique that fails (a layer tfmot cannot wrap) becomes a
row with its error and the rest of the bundle stands.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import pickle
import shutil
import subprocess
import sys
from collections import deque
from pathlib import Path

from automl.app_metadata.packing import with_metadata
from automl.convert import flex_ops, tflite_ops
from automl.progress import say

#: Lines of a failed worker's output kept for its error.
ERROR_LINES = 12


def compressed_exports(trained, task, data, config, hp, export_dir: Path, work_dir: Path,
                       inference: dict | None = None, described: tuple | None = None) -> list[dict]:
    """One row per technique in `export.compression`, its int8 .tflite in `export_dir`. The files run
    the model as `inference` says the bundle's other files do (`task.inference.tf_keras`) and carry
    the same TFLite Metadata, `described` ((metadata, files) for `packing.with_metadata`)."""
    cfg = config.export.compression
    rows = []
    work_dir.mkdir(parents=True)  # inside the new bundle folder: ours, removed when done
    try:
        # What every technique's worker reads: the model, written once with its digest (which goes to
        # the worker on its command line), and the config, data and hyperparameters, which go through
        # its stdin: nothing the worker runs comes from a file someone else could have written.
        trained.save(work_dir / "trained.keras")
        digest = hashlib.sha256((work_dir / "trained.keras").read_bytes()).hexdigest()
        state = pickle.dumps((config, data, hp), protocol=pickle.HIGHEST_PROTOCOL)
        for technique in cfg.techniques:
            folder = work_dir / technique
            folder.mkdir()
            spec = {"technique": technique, "sparsity": cfg.sparsity, "layer_sparsity": cfg.layer_sparsity,
                    "clusters": cfg.clusters,
                    "epochs": cfg.epochs.model_dump(), "learning_rate": _learning_rate(cfg, hp),
                    "representative_examples": config.export.representative_examples, "seed": config.seed,
                    "allow_flex_ops": config.export.allow_flex_ops, "inference": inference,
                    "distillation": cfg.distillation}
            (folder / "spec.json").write_text(json.dumps(spec, indent=2))
            say("export", f"compression {technique} (tfmot on a tf_keras twin, in its own process)")
            error = _run_worker(folder, state, digest)
            path = export_dir / f"model_{technique}_int8.tflite"
            row = {"path": str(path), "format": "tflite", "quantization": "int8", "compression": technique,
                   "accuracy_gate": {"value": cfg.accuracy_gate, "key": "export.compression.accuracy_gate"}}
            if error:
                say("export", f"warning: compression {technique} failed: {error.splitlines()[-1]}")
                rows.append({**row, "error": error, "rejected": f"compression {technique} failed: {error}"})
                continue
            content = (folder / "model.tflite").read_bytes()
            if described:
                content = with_metadata(content, *described)
            path.write_bytes(content)
            result = json.loads((folder / "result.json").read_text())
            ops = tflite_ops(content)
            rows.append({**row, "bytes": len(content), "gzip_bytes": gzip_size(content), "ops": ops,
                         "flex_ops": flex_ops(ops),
                         "sparsity": result["sparsity"], "clusters": result.get("clusters"),
                         "stages": result["stages"],
                         "inference": task.report_view.describe_inference(inference) if inference else "as trained"})
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return rows


def gzip_size(content: bytes) -> int:
    """Bytes of `content` gzipped at the highest level (how a download or an app store ships it)."""
    return len(gzip.compress(content, compresslevel=9, mtime=0))


def _learning_rate(cfg, hp) -> float:
    if cfg.learning_rate != "auto":
        return float(cfg.learning_rate)
    return 0.25 * float(hp.values.get("learning_rate", 1e-3))


@contextlib.contextmanager
def _stopped_with_us(process: subprocess.Popen):
    """Stops the worker when this process is interrupted (Ctrl-C, SIGTERM) or fails, so that no
    child outlives the run."""
    try:
        yield
    except BaseException:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        raise


def _run_worker(folder: Path, state: bytes, digest: str) -> str:
    """Runs the worker on `folder` with `state` on its stdin, showing its progress lines; '' on
    success, else its last lines."""
    tail: deque[str] = deque(maxlen=ERROR_LINES)
    known = ""
    with subprocess.Popen([sys.executable, "-m", "automl.compression.tfmot_worker", str(folder), digest],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True) as process, _stopped_with_us(process):
        process.stdin.buffer.write(state)  # read whole before the worker prints anything
        process.stdin.close()
        for line in process.stdout:
            line = line.rstrip()
            if line.startswith("[") and " compress " in line:
                print(line, flush=True)
            elif line.startswith("error: "):
                known = line[len("error: "):]
            elif line and not line.startswith(("WARNING", "I0000", "W0000", "E0000", "INFO: ")):
                tail.append(line)  # (LiteRT's "INFO: Created ... delegate" says nothing of a failure)
    if process.returncode == 0:
        return ""
    if process.returncode < 0:  # a native crash (an abort in LiteRT or TensorFlow): no Python error to show
        import signal

        name = signal.Signals(-process.returncode).name
        return f"the tfmot worker crashed ({name}) after: " + (" | ".join(list(tail)[-3:]) or "no output")
    return known or "\n".join(tail) or f"the tfmot worker exited with code {process.returncode}"
