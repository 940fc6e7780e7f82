"""Callbacks: grids, health checks and quality scores run on their cadence and never touch the training's randomness."""

from __future__ import annotations

import copy
import math
import threading
import time

import pytest
import torch
from conftest import tiny_config

from gan_core.metrics import HealthMonitor, QualityScorer, coverage, diversity
from gan_core.sampling import generate, sample_images
from gan_core.train import callbacks
from gan_core.train.callbacks import (
    GRID,
    LOG,
    PREVIEW,
    SCORED,
    Callback,
    FixedNoiseGrid,
    HealthCheck,
    QualityScore,
    find,
)
from gan_core.train.trainer import Trainer


def _state(tr: Trainer) -> list[torch.Tensor]:
    return [t.detach().clone() for m in (tr.G, tr.D) for t in m.state_dict().values()]


@pytest.mark.parametrize("background", [False, True])
def test_grids_and_quality_scores_leave_training_bit_identical(background: bool, monkeypatch) -> None:
    # mlp-deep's dropout draws from the global RNG every step and the batches from trainer.rng: a grid or a score
    # that drew from either would change every later step. In the background the coverage classifier is trained
    # in the worker while these steps run: a draw from (or a restore of) the global stream there would show too.
    monkeypatch.setattr(coverage, "_MIN_STEPS", 30)  # accuracy is not the point: a short classifier training
    scored = Trainer(tiny_config("mlp-deep", steps=8, sample_every=2, quality_every=3))
    score = find(scored.callbacks, QualityScore)
    score.budget, score.background = math.inf, background  # every due step, however long a score takes here
    score.build = lambda data, progress: QualityScorer(data, None, num_real=64)  # no disk cache: trains the classifier
    events: dict[int, set[str]] = {}
    scored.run(on_step=lambda t, ev: events.__setitem__(t.step_count, set(ev)))
    plain = Trainer(tiny_config("mlp-deep", steps=8), callbacks=[])
    plain.run()
    scored_steps = [h["step"] for h in scored.history if "quality" in h]
    if background:  # a score in flight holds the next one back; the last step's is collected when the run ends
        assert scored_steps[0] == 3 and scored_steps[-1] == 8 and scored_steps == sorted(set(scored_steps))
        assert find(scored.callbacks, QualityScore).scorer.classifier is not None
    else:
        assert [s for s, ev in events.items() if SCORED in ev] == scored_steps == [3, 6, 8]
    assert [s for s, ev in events.items() if GRID in ev] == [1, 2, 4, 6, 8]
    assert all(torch.equal(a, b) for a, b in zip(_state(scored), _state(plain)))
    assert torch.equal(scored.rng.get_state(), plain.rng.get_state())
    assert [h["loss/D"] for h in scored.history if "loss/D" in h] == [h["loss/D"] for h in plain.history]


@pytest.mark.parametrize("resumed", [False, True])
def test_training_steps_go_on_while_the_scorer_builds_and_no_step_waits_for_a_score(resumed: bool) -> None:
    release = threading.Event()

    def blocked_build(data, progress):  # a first run's real statistics and classifier: here until the last step
        assert release.wait(60), "the trainer never reached its last step while the scorer was building"
        return QualityScorer(data, None, num_real=128, coverage=False)

    score = QualityScore(every=5, num_samples=32, budget=math.inf, build=blocked_build)
    tr = Trainer(tiny_config("mlp", steps=30), callbacks=[score])
    if resumed:  # a resumed run builds its scorer the same way, and scores on its cadence from the checkpoint
        first = Trainer(tiny_config("mlp", steps=12), callbacks=[])
        first.run()
        tr.load_state_dict(first.state_dict())
    seen: list[tuple[int, bool]] = []

    def on_step(t: Trainer, events: set[str]) -> None:
        seen.append((t.step_count, score.ready))
        if t.step_count == t.total_steps:
            release.set()  # only now may the build finish: every step, the last one included, came before it

    tr.run(on_step=on_step)
    start = 13 if resumed else 1
    assert seen == [(s, False) for s in range(start, 31)]
    # The first due score queued behind the build (the next ones held back while it was in flight); the last
    # step's was queued too and collected when the run ended.
    assert [h["step"] for h in tr.history if "quality" in h] == ([17, 30] if resumed else [5, 30])
    assert score.ready and score._worker is None  # the worker thread is gone with the run


def test_a_run_stopped_while_the_scorer_builds_ends_at_once_and_the_build_gives_up_at_its_next_report() -> None:
    release, reports, workers = threading.Event(), [], []

    def blocked_build(data, progress):
        workers.append(threading.current_thread())
        assert release.wait(60)
        try:
            progress(0.5, "Training the coverage classifier")  # the build's next report, after the run stopped
        except callbacks.BuildCancelled as e:
            reports.append(str(e))
            raise
        return QualityScorer(data, None, num_real=128, coverage=False)

    score = QualityScore(every=5, num_samples=32, budget=math.inf, build=blocked_build)
    tr = Trainer(tiny_config("mlp", steps=30), callbacks=[score])
    assert tr.run(should_stop=lambda: tr.step_count >= 8) == "stopped"  # while the build blocks
    assert tr.step_count == 8 and not score.busy and not any("quality" in h for h in tr.history)
    release.set()
    workers[0].join(10)
    assert not workers[0].is_alive() and not score.ready
    assert reports == ["the run stopped while: Training the coverage classifier"]


def test_a_real_build_stops_within_a_report_of_the_run_and_writes_no_cache(tmp_path) -> None:
    """A stopped run's build used to train on (here about 20 s; up to a minute on a big set), taking a core from
    whatever ran next: in CI up to four at once. The classifier reports about 50 times, the copy check once per
    1,000 images; what was finished before the stop (the real statistics) stays cached."""
    tr = Trainer(tiny_config("mlp", steps=10_000), callbacks=[])
    score = QualityScore(every=5, num_samples=32, cache_dir=tmp_path, budget=math.inf)
    tr.callbacks = [score]
    building, workers = threading.Event(), []

    def progress_seen(fraction: float, message: str) -> None:
        workers.append(threading.current_thread())
        if "classifier" in message and fraction > 0:
            building.set()  # the classifier trains: stop the run now

    real_build = score.build
    score.build = lambda data, progress: real_build(data, lambda f, m: (progress_seen(f, m), progress(f, m)))
    assert tr.run(should_stop=building.is_set) == "stopped"
    workers[-1].join(30)  # time enough for the whole build here: one that trained on would end finished
    assert not workers[-1].is_alive(), "the build went on after its run stopped"
    assert not score.ready  # it gave up: no scorer, and no classifier in the cache, half-trained or finished
    assert list(tmp_path.glob("real-stats-*")) and not list(tmp_path.glob("classifier-*"))


def test_the_scorers_worker_stays_on_one_thread_when_another_thread_sets_the_count_after_it_started() -> None:
    """torch sets a new thread's count at its first parallel op to the count any thread set last: the worker's
    own set_num_threads(1) was replaced by the training thread's 2 (session 20)."""
    score = QualityScore(every=5)
    started, go = threading.Event(), threading.Event()

    def count_after_the_other_thread() -> int:
        started.set()
        assert go.wait(10)
        return torch.get_num_threads()

    before = torch.get_num_threads()
    try:
        future = score._submit(count_after_the_other_thread)
        assert started.wait(10)
        torch.set_num_threads(2)  # as the training thread does when it confirms 2 threads
        go.set()
        assert future.result(10) == 1
    finally:
        torch.set_num_threads(before)
        score._worker.shutdown()


def test_a_background_score_scores_the_weights_of_its_step_and_a_stopped_run_keeps_it(monkeypatch) -> None:
    tr = Trainer(tiny_config("mlp", steps=50), callbacks=[])
    scorer = QualityScorer(tr.data, None, num_real=128, coverage=False)
    score = QualityScore(every=5, num_samples=64, scorer=scorer, budget=math.inf)
    tr.callbacks = [score]

    def slow_sampling(*args, **kwargs) -> torch.Tensor:
        time.sleep(0.5)  # samples drawn after G trained on (and still in flight when the run stops a step later)
        return sample_images(*args, **kwargs)

    monkeypatch.setattr(callbacks, "sample_images", slow_sampling)
    weights: dict[int, torch.nn.Module] = {}
    tr.run(should_stop=lambda: tr.step_count >= 6,
           on_step=lambda t, ev: weights.setdefault(t.step_count, copy.deepcopy(t.sampler)))
    entries = [h for h in tr.history if "quality" in h]
    assert [e["step"] for e in entries] == [5]  # collected when the run stopped, not lost
    monkeypatch.undo()
    at_5 = QualityScore(every=0, num_samples=64, scorer=scorer)._score(weights[5], 5)
    at_6 = QualityScore(every=0, num_samples=64, scorer=scorer)._score(weights[6], 5)  # same noise, later weights
    assert entries[0] == pytest.approx(at_5) and at_5 != pytest.approx(at_6)


def test_quality_score_is_reproducible_and_consumes_no_random_numbers() -> None:
    tr = Trainer(tiny_config("mlp", steps=2, quality_every=0))
    tr.run()
    scorer = QualityScorer(tr.data, None, num_real=128, coverage=False)  # no classifier to train: seconds faster
    score = QualityScore(every=0, num_samples=64, seed=1, scorer=scorer)
    global_rng, train_rng = torch.get_rng_state(), tr.rng.get_state()
    first, second = score.measure(tr), score.measure(tr)
    assert torch.equal(torch.get_rng_state(), global_rng) and torch.equal(tr.rng.get_state(), train_rng)
    assert first == second and {"step", "quality", "kid"} <= set(first)
    assert tr.history[-2:] == [first, second]  # reported: the history (and the health check) sees each score


def test_fixed_noise_grid_cadence() -> None:
    tr = Trainer(tiny_config("mlp", steps=7, log_every=3), callbacks=[FixedNoiseGrid(every=3)])
    seen: list[tuple[int, set[str]]] = []
    tr.run(on_step=lambda t, ev: seen.append((t.step_count, set(ev))))
    assert [s for s, ev in seen if GRID in ev] == [1, 3, 6, 7]  # the run's first step, every 3rd, the last
    assert [s for s, ev in seen if LOG in ev] == [3, 6, 7]
    assert torch.equal(tr.latest_grid, generate(tr.sampler, tr.fixed_z, tr.fixed_y))


class FakeClock:
    """A wall clock the test moves: `tick` seconds pass per reading."""

    def __init__(self, tick: float) -> None:
        self.now, self.tick = 0.0, tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now


def test_previews_refresh_the_live_grid_by_wall_time_between_saved_grids() -> None:
    # A slow machine: 1 s per step and a saved grid only every 1,000 steps.
    grid = FixedNoiseGrid(every=1000, seconds=10.0, first_seconds=2.0, first_window=30.0, clock=FakeClock(1.0))
    tr = Trainer(tiny_config("mlp", steps=60, log_every=5), callbacks=[grid])
    seen: list[tuple[int, set[str]]] = []
    tr.run(on_step=lambda t, ev: seen.append((t.step_count, set(ev) & {GRID, PREVIEW})))
    grids = [s for s, ev in seen if GRID in ev]
    previews = [s for s, ev in seen if PREVIEW in ev]
    assert grids == [1, 60]  # saved: the first step and the last
    assert previews[:3] == [3, 5, 7]  # every 2 s in the first 30 s: the page shows the G within seconds
    gaps = [b - a for a, b in zip(previews, previews[1:])]
    assert max(gaps) <= 10 and gaps[-1] == 10  # then every 10 s, never longer
    assert torch.equal(tr.latest_grid, generate(tr.sampler, tr.fixed_z, tr.fixed_y))


def test_quality_scores_keep_within_their_share_of_the_wall_time() -> None:
    scorer = QualityScorer(Trainer(tiny_config("mlp")).data, coverage=False)  # its cost is faked below
    clock = FakeClock(0.05)  # 50 ms a step
    # In place (no worker thread), so the fake clock is read by one thread in a fixed order.
    score = QualityScore(every=2, num_samples=32, scorer=scorer, budget=0.05, background=False, clock=clock)
    original = scorer.score_details

    def slow_score(images: torch.Tensor) -> tuple:
        clock.now += 1.0  # each score costs 1 s: at most one every 20 s of wall time
        return original(images)

    scorer.score_details = slow_score  # type: ignore[method-assign]
    tr = Trainer(tiny_config("mlp", steps=1000, log_every=50), callbacks=[score])  # room for two spacings
    seen: list[int] = []
    tr.run(on_step=lambda t, ev: seen.append(t.step_count) if SCORED in ev else None)
    assert seen[0] == 2 and seen[-1] == 1000  # the first due step, and the last step always
    spacing = [b - a for a, b in zip(seen, seen[1:-1])]
    assert spacing and min(spacing) >= 400  # 21 s (20 x 1.05 s) / 50 ms a step, not every 2 steps


def test_without_callbacks_there_are_no_grids_and_only_loss_entries() -> None:
    tr = Trainer(tiny_config("mlp", steps=5), callbacks=[])
    tr.run()
    assert tr.latest_grid is None and all("loss/D" in h for h in tr.history)


def test_health_check_measures_g_not_the_lagging_ema_and_raises_alerts_from_reports() -> None:
    monitor = HealthMonitor(real_diversity=1.0, warmup_steps=0, patience=1)
    tr = Trainer(tiny_config("dcgan", steps=3, ema=0.99), callbacks=[FixedNoiseGrid(every=3), HealthCheck(monitor)])
    tr.run()
    measured = [h for h in tr.history if "diversity" in h]
    assert [h["step"] for h in measured] == [1, 3]
    assert measured[-1]["diversity"] == pytest.approx(diversity(generate(tr.G, tr.fixed_z, tr.fixed_y)))
    assert measured[-1]["diversity"] != pytest.approx(diversity(tr.latest_grid))  # the EMA's grid differs
    tr.report({"step": 3, "loss/D": float("nan")})
    assert tr.alerts[-1]["kind"] == "nan" and "non-finite at step 3" in tr.alerts[-1]["message"]


def test_callbacks_run_in_order_and_only_timed_ones_count_as_training_time() -> None:
    import time

    class Slow(Callback):
        def __init__(self, timed: bool, log: list[str]) -> None:
            self.timed, self.log = timed, log

        def on_step(self, trainer: Trainer, events: set[str]) -> None:
            self.log.append("timed" if self.timed else "untimed")
            time.sleep(SLEEP if self.timed else 0.02)

    # Five timed sleeps must outweigh five tiny steps even on a loaded machine (they took 0.2 s at load 12).
    SLEEP = 0.2

    class SlowGrid(FixedNoiseGrid):
        def on_step(self, trainer: Trainer, events: set[str]) -> None:
            super().on_step(trainer, events)
            time.sleep(0.02)

    order: list[str] = []
    untimed = Trainer(tiny_config("mlp", steps=5), callbacks=[Slow(False, order)])
    untimed.run()
    timed = Trainer(tiny_config("mlp", steps=5), callbacks=[Slow(True, [])])
    timed.run()
    assert order == ["untimed"] * 5
    assert timed.train_seconds >= 5 * SLEEP > untimed.train_seconds
    grids = Trainer(tiny_config("mlp", steps=5), callbacks=[SlowGrid(every=1)])
    grids.run()
    assert grids.train_seconds >= 5 * 0.02  # grids count as training time, as the app has always shown it


def test_default_callbacks_follow_the_config() -> None:
    tr = Trainer(tiny_config("mlp", sample_every=7, quality_every=11))
    assert [type(c) for c in tr.callbacks] == [FixedNoiseGrid, HealthCheck, QualityScore]
    assert find(tr.callbacks, FixedNoiseGrid).every == 7 and find(tr.callbacks, QualityScore).every == 11
    assert find(tr.callbacks, HealthCheck).monitor.num_classes == 3  # shapes: triangle, square, circle


def test_a_resumed_run_scores_on_its_cadence_from_the_checkpoint_step() -> None:
    first = Trainer(tiny_config("mlp", steps=5), callbacks=[])
    first.run()
    scorer = QualityScorer(first.data, None, num_real=128, coverage=False)
    score = QualityScore(every=5, num_samples=32, scorer=scorer, budget=math.inf, background=False)
    resumed = Trainer(tiny_config("mlp", steps=12), callbacks=[score])
    resumed.load_state_dict(first.state_dict())
    resumed.run()
    assert [h["step"] for h in resumed.history if "quality" in h] == [10, 12]  # not at once at step 6


def test_a_failing_run_still_ends_its_callbacks_and_a_one_shot_stop_is_kept() -> None:
    """Issue #20, loose ends: an exception skipped Callback.on_end (the quality worker kept its copy of G), and a stop
    asked once, between the steps that look at it, was lost."""
    ended: list[str] = []

    class Ends(Callback):
        def on_step(self, trainer: Trainer, events: set[str]) -> None:
            if trainer.step_count == 3:
                raise RuntimeError("boom")

        def on_end(self, trainer: Trainer) -> None:
            ended.append("ended")

    with pytest.raises(RuntimeError, match="boom"):
        Trainer(tiny_config("mlp", steps=10), callbacks=[Ends()]).run()
    assert ended == ["ended"]

    asked = iter([False, True])  # True once, then never again
    tr = Trainer(tiny_config("mlp", steps=50), callbacks=[])
    assert tr.run(lambda: next(asked, False)) == "stopped" and tr.step_count == 1


