"""Progress lines: a heartbeat while an epoch runs long, and none after it ends."""

import time

from automl import progress


def test_a_long_epoch_says_it_is_alive_and_stops_saying_so_when_it_ends(capsys, monkeypatch):
    monkeypatch.setattr(progress, "HEARTBEAT_SECONDS", 0.3)
    progress.say("search", "trial 1/2 small_cnn")
    progress.start_heartbeat("search", lambda: "small_cnn epoch 1/6: batch 12/44 (15s)")
    time.sleep(1.6)
    progress.stop_heartbeat()
    beats = [line for line in capsys.readouterr().err.splitlines() if "batch 12/44" in line]
    # One line per quiet spell of HEARTBEAT_SECONDS (checked each second), each in the progress format.
    assert 1 <= len(beats) <= 2 and all(line.startswith("[") and "search " in line for line in beats)
    time.sleep(1.3)
    assert "batch 12/44" not in capsys.readouterr().err


def test_another_line_resets_the_heartbeat(capsys, monkeypatch):
    monkeypatch.setattr(progress, "HEARTBEAT_SECONDS", 1.5)
    progress.start_heartbeat("finetune", lambda: "epoch 2/9: batch 3/10")
    for _ in range(4):  # an epoch line every 0.5 s: nothing to add
        time.sleep(0.5)
        progress.say("finetune", "epoch line")
    progress.stop_heartbeat()
    assert "batch 3/10" not in capsys.readouterr().err


def test_verbose_zero_silences_progress(capsys):
    with progress.quiet_progress():
        progress.say("run", "hidden")
    progress.say("run", "shown")
    err = capsys.readouterr().err
    assert "hidden" not in err and "shown" in err
