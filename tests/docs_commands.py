"""The commands a docs page shows, run as written against a finished run of that task.

A task's pipeline test (which has the run) calls `run_page_commands`: in a fresh folder the run is
copied to the path the page names (runs/co2, say), the input files the page names are made by the
test, and every `automl predict` (and `automl export`/`diff`) line of the page runs there as typed.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def commands(page: Path) -> list[str]:
    """The command lines of a page's ```bash blocks, comments cut off."""
    found = []
    for block in re.findall(r"```bash\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
        for line in block.splitlines():
            command = re.split(r"\s+#\s", line)[0].strip()
            if command:
                found.append(command)
    return found


def run_page_commands(page: str, run_dir: Path, folder: Path, kinds=("predict",)) -> list[subprocess.CompletedProcess]:
    """Runs every `automl KIND ...` line of docs/`page` in `folder`, where the run directory the
    lines name is a copy of `run_dir`; each must succeed. The caller has made the inputs they name."""
    lines = [c for c in commands(REPO / "docs" / page) if c.split()[:2][-1] in kinds and c.startswith("automl ")]
    assert lines, f"docs/{page} shows no automl {'/'.join(kinds)} command"
    named = {word for line in lines for word in shlex.split(line) if word.startswith("runs/")}
    run_name = sorted({Path(*Path(word).parts[:2]) for word in named})
    assert len(run_name) == 1, run_name
    target = folder / run_name[0]
    if not target.exists():
        shutil.copytree(run_dir, target)
    done = []
    for line in lines:
        result = subprocess.run([sys.executable, "-m", *shlex.split(line)], cwd=folder, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, (line, result.stderr[-2000:])
        done.append(result)
    return done
