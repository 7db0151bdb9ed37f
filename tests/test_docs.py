"""The README and docs/ say what is true: the README fits on a page, every link lands, the
configuration reference is the schema's, and every command they show runs.

How each command is run:
- the README's command block, in a folder holding a copy of a finished quickstart run, as written
  (`automl init` output filled in with the sample's path, as a user would);
- `automl run FILE ...` as `automl validate FILE ...`: the file and its data read as the run reads
  them (the runs themselves are each task's pipeline tests, and CI runs the README's test command);
- every other `automl` command through the CLI's parser with its task's own options (the same
  commands run in the task's pipeline tests);
- `pip install` lines: the packages are those `.ci/run` installs, which CI runs.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.docs_commands import commands

PAGES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]


def test_the_readme_fits_on_a_page():
    assert len((REPO / "README.md").read_text(encoding="utf-8").splitlines()) <= 150


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_lands_on_a_file(page):
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
        if "://" not in target:
            assert (page.parent / target).exists(), f"{page.name}: {target}"


def test_the_configuration_reference_is_the_schemas():
    from automl.config.reference import reference_markdown

    committed = (REPO / "docs" / "configuration-reference.md").read_text(encoding="utf-8")
    assert committed == reference_markdown(), "run: automl schema --markdown > docs/configuration-reference.md"


def test_the_packages_the_docs_install_are_those_ci_installs():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    for page in PAGES:
        for command in commands(page):
            if command.startswith("pip install --no-deps"):
                for package in shlex.split(command)[3:]:
                    assert package in ci, f"{page.name}: {package} is not installed by .ci/run"


def _automl_commands() -> dict[str, list[str]]:
    """Each distinct `automl` command the pages show, with the pages that show it."""
    found: dict[str, list[str]] = {}
    for page in PAGES:
        for command in commands(page):
            for part in command.split("&&"):
                part = part.split(">")[0].strip()
                if part.startswith("automl "):
                    found.setdefault(part, []).append(str(page.relative_to(REPO)))
    return found


AUTOML_COMMANDS = _automl_commands()


@pytest.mark.parametrize("command", sorted(AUTOML_COMMANDS), ids=lambda c: c[:80])
def test_every_automl_command_in_the_docs_parses_and_runs_its_file_checks(command, tmp_path, monkeypatch):
    """Each command is one the CLI accepts (the task's own predict options included); a run's
    pipeline file is validated with its data (TensorFlow-free, in-process: a fraction of a second)."""
    import yaml

    from automl.cli import _parser, main

    argv = shlex.split(command)[1:]
    pages = AUTOML_COMMANDS[command]
    args, extra = _parser().parse_known_args(argv)
    assert args.command, argv
    if args.command == "predict":
        assert all(not word.startswith("--") or word in _task_predict_options() for word in extra), (pages, extra)
    else:
        assert not extra, (pages, argv, extra)
    if args.command == "run" and (REPO / args.file).exists():  # (my.yaml: the README block's own, run there)
        sets = [word for pair in zip(["--set"] * len(args.set), args.set) for word in pair]
        wanted = Path(str(yaml.safe_load((REPO / args.file).read_text()).get("data", {}).get("path", ""))).name
        made = None if (REPO / "data" / wanted).exists() else _data_made_by_the_docs(wanted, tmp_path)
        if made:  # data a step of the docs makes first (detection's boxes), made as they say
            sets += ["--set", f"data.path={made}"]
        monkeypatch.chdir(REPO)
        assert main(["validate", args.file, *sets]) == 0, (pages, argv)


def _task_predict_options() -> set[str]:
    """The options every task's bundle reader adds to `automl predict` (--samples, --min-score, --top-k...)."""
    import argparse

    from automl.tasks import get_task, task_names

    options = set()
    for name in task_names():
        parser = argparse.ArgumentParser()
        get_task(name).bundle_reader.arguments(parser)
        options |= {option for action in parser._actions for option in action.option_strings}
    return options


def _data_made_by_the_docs(wanted: str, folder: Path):
    """Runs the docs' `python tests/...` step that makes the folder `wanted` (detection's boxes) into
    `folder`, as the page says, and returns it (None when no step makes it)."""
    for page in PAGES:
        for step in commands(page):
            words = shlex.split(step)
            if step.startswith("python tests/") and Path(words[3]).name == wanted:
                done = subprocess.run([sys.executable, str(REPO / words[1]), *words[2:]], cwd=folder,
                                      capture_output=True, text=True, timeout=300)
                assert done.returncode == 0, (step, done.stderr[-2000:])
                return folder / words[3]
    return None


def test_the_readmes_commands_run_as_written_on_a_finished_run(quickstart_run, tmp_path, sample_dir):
    """The README's block of commands, in order, in a folder where runs/quickstart is a finished run,
    photo.jpg a photo and photos/ a folder of them."""
    run_dir, _, _ = quickstart_run
    shutil.copytree(run_dir, tmp_path / "runs" / "quickstart")
    photos = sorted((sample_dir / "Sneaker").glob("*.png"))[:4]
    (tmp_path / "photos").mkdir()
    for photo in photos:
        shutil.copy(photo, tmp_path / "photos" / photo.name)
    from PIL import Image

    Image.open(photos[0]).convert("RGB").save(tmp_path / "photo.jpg")
    block = re.search(r"## Commands\n\n```bash\n(.*?)```", (REPO / "README.md").read_text(), re.S).group(1)
    ran = []
    for line in block.splitlines():
        command = re.split(r"\s+#\s", line)[0].strip()
        if command.startswith("automl run "):
            command = command.replace("automl run ", "automl validate ", 1)  # the run itself: the e2e tests
        if command.startswith("tensorboard "):
            _serves(shlex.split(command), tmp_path)
            ran.append(command)
            continue
        argv = shlex.split(command.split(">")[0])
        done = subprocess.run([sys.executable, "-m", *argv], cwd=tmp_path, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, (command, done.stderr[-2000:])
        if ">" in command:
            (tmp_path / command.split(">")[1].strip()).write_text(done.stdout)
        if argv[:2] == ["automl", "init"]:  # the user fills in the data's path
            mine = tmp_path / command.split(">")[1].strip()
            mine.write_text(mine.read_text().replace("path/to/your/data", str(sample_dir)))
        ran.append(command)
    assert len(ran) == len([line for line in block.splitlines() if line.strip()])
    assert (tmp_path / "runs" / "quickstart" / "export-2" / "model_int8.tflite").exists()


def _serves(argv, cwd, timeout=60):
    """TensorBoard starts on the logs and says where it serves them; then it is stopped."""
    import time

    executable = shutil.which(argv[0], path=str(Path(sys.executable).parent)) or shutil.which(argv[0])
    assert executable, f"{argv[0]} is not installed (keras-tuner brings it)"
    process = subprocess.Popen([executable, *argv[1:], "--port", "0"], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    try:
        deadline, said = time.time() + timeout, ""
        while time.time() < deadline and "http://" not in said:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                break
            said += line
        assert "http://" in said, said[-2000:]
    finally:
        process.kill()
        process.wait()
