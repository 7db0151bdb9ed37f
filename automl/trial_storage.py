"""Storage a cluster shares for a search's trials (`search.ray.storage`): a path every node mounts,
or an object store URI (s3://, gs://, ... through fsspec, as Ray's own storage takes them).

A node trains a trial in a folder of its own and copies it here after every kept epoch and at its
end; a node that runs the trial again (the first one lost) copies it back first and continues
after the last kept epoch; the driver copies each ended trial into the run directory, where
fine-tuning and the report read it, and keeps the search's state (the oracle and its trials) here
too, so a driver started again on another machine resumes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from automl.errors import ConfigError


class TrialStorage:
    """Files under one root (a local path or a URI) copied to and from local folders."""

    def __init__(self, root: str):
        self.root = root.rstrip("/")
        self._fs = None

    @property
    def fs(self):
        if self._fs is None:  # made where it is used: a file system object need not travel between nodes
            import fsspec

            try:
                self._fs, self._path = fsspec.core.url_to_fs(self.root)
            except (ImportError, ValueError) as err:
                raise ConfigError(f"search.ray.storage {self.root!r}: {err}") from None
        return self._fs

    def __getstate__(self):
        return {"root": self.root, "_fs": None}

    def _remote(self, name: str) -> str:
        self.fs  # noqa: B018 - sets _path
        return f"{self._path.rstrip('/')}/{name}" if name else self._path

    def push(self, local: Path, name: str, files: Optional[list[Path]] = None) -> None:
        """Copies the files of folder `local` (or only `files`, inside it) to `name` under the root,
        replacing those of the same name; without `files`, what `local` no longer holds goes too."""
        local = Path(local)
        if not local.is_dir():
            return
        for path in sorted(files if files is not None else (p for p in local.rglob("*") if p.is_file())):
            target = f"{self._remote(name)}/{path.relative_to(local).as_posix()}"
            self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
            # Beside, then renamed in where the file system can: a reader never sees half a file.
            partial = f"{target}.partial"
            self.fs.put_file(str(path), partial)
            self.fs.mv(partial, target)
        if files is None:
            self._remove_gone(local, name)

    def _remove_gone(self, local: Path, name: str) -> None:
        """Files the trial removed (its kept epoch once it ended) go from the storage too."""
        remote = self._remote(name)
        if not self.fs.exists(remote):
            return
        kept = {p.relative_to(local).as_posix() for p in local.rglob("*") if p.is_file()}
        for path in self.fs.find(remote):
            relative = path[len(remote.rstrip("/")) + 1:] if path.startswith(remote) else None
            if relative is not None and relative not in kept and not relative.endswith(".partial"):
                self.fs.rm_file(path)

    def pull(self, name: str, local: Path) -> bool:
        """Copies `name`'s files under the root into folder `local`; False when there are none."""
        remote = self._remote(name)
        if not self.fs.exists(remote):
            return False
        local = Path(local)
        for path in self.fs.find(remote):
            if path.endswith(".partial"):
                continue
            target = local / path[len(remote.rstrip("/")) + 1:]
            target.parent.mkdir(parents=True, exist_ok=True)
            self.fs.get_file(path, str(target))
        return True

    def __repr__(self) -> str:
        return f"TrialStorage({self.root!r})"
