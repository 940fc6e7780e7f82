"""metrics.jsonl: whole records appended and flushed per log, a fresh file on resume, and the incremental reader."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import tiny_config

from gan_core.runs.metrics_log import ALERT, METRICS_FILE, MetricsLog, MetricsTail, record_lines
from gan_core.train.trainer import Trainer


def records(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / METRICS_FILE).read_text().splitlines()]


class Log:
    """A stand-in trainer: the two lists MetricsLog reads."""

    def __init__(self) -> None:
        self.history: list[dict] = []
        self.alerts: list[dict] = []


def test_a_run_leaves_its_history_then_its_alerts_one_record_a_line(tmp_path: Path) -> None:
    tr = Trainer(tiny_config(steps=20, log_every=5))
    log = MetricsLog(tmp_path)
    log.start(tr)
    tr.run(on_step=log.on_step)
    tr.add_alert("test", 20, "an alert after the last step")
    log.finish(tr)
    got = records(tmp_path)
    assert got[:-1] == json.loads(json.dumps(tr.history))  # every entry, in order (diversity ones too)
    assert [h["step"] for h in got if "loss/D" in h] == [5, 10, 15, 20]
    assert got[-1] == {ALERT: {"kind": "test", "step": 20, "message": "an alert after the last step"}}


def test_each_log_is_on_disk_before_the_next_and_nothing_is_rewritten(tmp_path: Path) -> None:
    t, log = Log(), MetricsLog(tmp_path)
    log.start(t)
    assert (tmp_path / METRICS_FILE).read_bytes() == b""
    t.history.append({"step": 10, "loss/D": 1.0})
    log.on_step(t, set())
    assert records(tmp_path) == [{"step": 10, "loss/D": 1.0}]  # flushed: another open of the file sees it
    t.alerts.append({"kind": "k", "step": 12, "message": "m"})
    t.history.append({"step": 20, "loss/D": float("nan")})
    log.on_step(t, set())
    log.on_step(t, set())  # nothing new: nothing written
    lines = (tmp_path / METRICS_FILE).read_text().splitlines()
    assert lines[1:] == ['{"step": 20, "loss/D": NaN}', '{"alert": {"kind": "k", "step": 12, "message": "m"}}']
    log.finish(t)


def test_a_resumed_run_starts_the_file_again_from_its_checkpoint_history(tmp_path: Path) -> None:
    (tmp_path / METRICS_FILE).write_text('{"step": 10}\n{"step": 20}\n{"step": 30}\n')  # 30: after the checkpoint
    t = Log()
    t.history = [{"step": 10}, {"step": 20}]
    log = MetricsLog(tmp_path)
    log.start(t)
    t.history.append({"step": 25})
    log.finish(t)
    assert [r["step"] for r in records(tmp_path)] == [10, 20, 25]


def test_the_reader_takes_complete_lines_only_and_then_only_what_was_added(tmp_path: Path) -> None:
    path = tmp_path / METRICS_FILE
    tail = MetricsTail(tmp_path)
    assert not tail.read() and tail.history == []  # no file yet
    first = record_lines([{"step": 1}, {"step": 2}], [])
    path.write_bytes(first + b'{"step": 3, "loss')  # a record half written
    assert tail.read() and [h["step"] for h in tail.history] == [1, 2] and tail.offset == len(first)
    assert not tail.read()  # nothing new yet
    with path.open("ab") as f:
        f.write(b'/D": 0.5}\nnot json\n[1, 2]\n' + record_lines([], [{"kind": "k", "step": 3, "message": "m"}]))
    assert tail.read()
    assert tail.history == [{"step": 1}, {"step": 2}, {"step": 3, "loss/D": 0.5}]  # junk lines skipped
    assert tail.alerts == [{"kind": "k", "step": 3, "message": "m"}]


def test_the_reader_starts_over_when_the_file_is_replaced_or_shrinks(tmp_path: Path) -> None:
    path = tmp_path / METRICS_FILE
    path.write_bytes(record_lines([{"step": s} for s in (1, 2, 3)], []))
    tail = MetricsTail(tmp_path)
    tail.read()
    replacement = tmp_path / "new"
    replacement.write_bytes(record_lines([{"step": 1}, {"step": 9}], []))
    replacement.replace(path)  # what a resumed writer's start does (write_atomic)
    assert tail.read() and [h["step"] for h in tail.history] == [1, 9]
    path.write_bytes(record_lines([{"step": 5}], []))  # same file, shorter
    assert tail.read() and [h["step"] for h in tail.history] == [5]
