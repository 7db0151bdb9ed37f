"""search.ray.storage: a trial's folder copied to storage the nodes share and back, here a second
local directory standing in for the mount (an fsspec URI takes the same path through fsspec)."""

from automl.trial_storage import TrialStorage


def test_a_trial_folder_goes_to_the_storage_and_back_and_what_it_dropped_goes_too(tmp_path):
    node, mount, other_node = tmp_path / "node", tmp_path / "mount", tmp_path / "other"
    trial = node / "trial_0003"
    (trial / "sub").mkdir(parents=True)
    (trial / "progress.json").write_text('{"epochs_done": 2}')
    (trial / "last.weights.h5").write_bytes(b"\x00" * 1000)
    (trial / "sub" / "events").write_text("x")
    storage = TrialStorage(f"file://{mount}")
    storage.push(trial, "trials/trial_0003")
    assert (mount / "trials/trial_0003/progress.json").read_text() == '{"epochs_done": 2}'
    assert not list(mount.rglob("*.partial"))
    # Another node runs the trial again: it gets the kept epoch.
    assert storage.pull("trials/trial_0003", other_node / "trial_0003")
    assert (other_node / "trial_0003" / "last.weights.h5").stat().st_size == 1000
    assert (other_node / "trial_0003" / "sub" / "events").read_text() == "x"
    # The trial ended: its kept epoch goes, here and in the storage.
    (trial / "progress.json").unlink()
    (trial / "last.weights.h5").unlink()
    (trial / "checkpoint.weights.h5").write_bytes(b"\x01")
    storage.push(trial, "trials/trial_0003")
    assert sorted(p.name for p in (mount / "trials/trial_0003").rglob("*") if p.is_file()) == [
        "checkpoint.weights.h5", "events"]
    assert not storage.pull("trials/trial_9999", other_node / "none")


def test_only_the_files_named_go_and_nothing_else_is_removed(tmp_path):
    project, mount = tmp_path / "trials", tmp_path / "mount"
    (project / "trial_0000").mkdir(parents=True)
    (project / "oracle.json").write_text("{}")
    (project / "trial_0000" / "trial.json").write_text("{}")
    (project / "trial_0000" / "checkpoint.weights.h5").write_bytes(b"\x00")
    storage = TrialStorage(str(mount))  # a plain path works as well as a URI
    (mount / "trials" / "trial_0001").mkdir(parents=True)
    (mount / "trials" / "trial_0001" / "checkpoint.weights.h5").write_bytes(b"\x02")
    storage.push(project, "trials", files=[project / "oracle.json", project / "trial_0000" / "trial.json"])
    assert (mount / "trials" / "oracle.json").exists() and (mount / "trials" / "trial_0000" / "trial.json").exists()
    assert not (mount / "trials" / "trial_0000" / "checkpoint.weights.h5").exists()
    assert (mount / "trials" / "trial_0001" / "checkpoint.weights.h5").exists()
