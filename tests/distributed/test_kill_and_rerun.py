"""kill -9 at each stage, then the same command again: nothing finished is lost or redone, and no
report claims success for an unfinished run."""

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ["search.max_trials=3", "search.epochs=2", "search.strategy=random", "finetune.epochs=4",
            "finetune.patience=8", "export.quantizations=[float32,int8]", "runtime.tensorboard=false"]
#: Where each stage is killed: the first progress line that shows it under way.
KILL_AT = {
    "data": re.compile(r"\] run "),
    "search": re.compile(r"\] search +trial 2/\d+ "),  # the first trial finished, the second started
    # The first trial's first epoch done and kept (progress.json), its second under way.
    "search trial": re.compile(r"\] search +\S+ epoch 1/2 "),
    "finetune": re.compile(r"\] finetune .* epoch 2/"),  # two fine-tuning epochs done
    "export": re.compile(r"\] export +TFLite float32"),
    "verify": re.compile(r"\] verify +model_"),
}
EPOCH = re.compile(r"epoch \d+/\d+ ")


def _command(run: Path) -> list[str]:
    command = [sys.executable, "-m", "automl", "run", str(ROOT / "pipelines" / "quickstart.yaml"), "--out", str(run)]
    for setting in SETTINGS:
        command += ["--set", setting]
    return command


def _run_to_end(run: Path, log: Path) -> None:
    with open(log, "a") as out:
        subprocess.run(_command(run), stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, check=True, timeout=900)


def _kept_epochs(run: Path) -> list[int]:
    """The epochs each running search trial has kept so far."""
    return [json.loads(p.read_text())["epochs_done"] for p in (run / "search").rglob("progress.json")]


def _shape(report: dict) -> dict:
    return {"keys": sorted(report), "exports": sorted(Path(e["path"]).name for e in report["exports"]),
            "trials": [t["trial_id"] for t in report["search"]["trials"]]}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("uninterrupted")
    _run_to_end(folder / "run", folder / "log")
    report = json.loads((folder / "run" / "report.json").read_text())
    return report, len(EPOCH.findall((folder / "log").read_text()))


@pytest.mark.slow
@pytest.mark.parametrize("stage", list(KILL_AT))
def test_killed_at_a_stage_then_rerun_loses_and_redoes_nothing(stage, uninterrupted, tmp_path):
    reference, reference_epochs = uninterrupted
    run, log = tmp_path / "run", tmp_path / "log"
    with open(log, "w") as out:
        process = subprocess.Popen(_command(run), stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
    started = time.time()
    while not (KILL_AT[stage].search(log.read_text()) and (stage != "search trial" or _kept_epochs(run))):
        assert process.poll() is None, f"ended before the {stage} stage:\n{log.read_text()[-3000:]}"
        assert time.time() - started < 600
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (run / "report.json").exists(), "a killed run has no report.json"
    partial = json.loads((run / "report.partial.json").read_text()) if (run / "report.partial.json").exists() else {}
    assert partial.get("status") != "succeeded"
    if stage == "search trial":
        assert _kept_epochs(run) == [1], "the killed trial kept its first epoch"

    _run_to_end(run, log)
    report = json.loads((run / "report.json").read_text())
    epochs = len(EPOCH.findall(log.read_text()))
    print(f"killed in {stage}: {epochs} epochs over both invocations, {reference_epochs} uninterrupted")
    assert report["status"] == "succeeded"
    assert _shape(report) == _shape(reference)
    assert epochs == reference_epochs, "a finished epoch or trial was trained again"
    assert not _kept_epochs(run), "an ended trial's last epoch is not kept"
