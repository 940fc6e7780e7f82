"""Headless command line: python -m gan_core list | train | sample | eval | export (same API as the app)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config import RunConfig
from ..errors import CheckpointError, UserError, file_error
from ..limits import check_memory, sampling_bytes
from ..presets import PRESETS
from .args import apply_flags, build_parser, config_from_args, refuse_resume_conflicts
from .progress import TaskProgress, TrainProgress

if TYPE_CHECKING:
    from ..train.distributed import World


def resolve_checkpoint(path: str) -> Path:
    """A checkpoint file as given, or the newest valid checkpoint of a run folder."""
    from ..runs.checkpoints import latest_valid_checkpoint

    p = Path(path)
    if p.is_dir():
        found = latest_valid_checkpoint(p)
        if found is None:
            raise CheckpointError(f"No valid checkpoint in {p}: train first, or pass a checkpoint file.")
        return found[0]
    return p


def cmd_train(a: argparse.Namespace) -> int:
    """Train (or resume) one run; under torchrun every process runs this and rank 0 alone writes and prints."""
    from ..runs.checkpoints import load_checkpoint
    from ..runs.folders import check_fresh_folder, checkpoint_root, new_run_name
    from ..runs.liveness import check_not_written_elsewhere, read_meta
    from ..train import distributed

    state = None
    if a.resume:
        ckpt = resolve_checkpoint(a.resume)
        state = load_checkpoint(ckpt)
        cfg = RunConfig.from_dict(state["config"])
        refuse_resume_conflicts(a, cfg, ckpt.parent.name)
        apply_flags(a, cfg, fixed=False)  # --steps, --max-seconds, --device, the intervals...
        if a.data_dir:
            cfg.data.data_dir = a.data_dir
        out = Path(a.out) if a.out else ckpt.parent
    else:
        cfg = config_from_args(a)
        if a.out is None and distributed.env_world_size() > 1:  # each rank would pick its own timestamped name
            raise UserError("Under torchrun give the run folder: --out checkpoints/NAME (the same on every node).")
        out = Path(a.out) if a.out else checkpoint_root() / new_run_name(cfg)
    if distributed.launch_rank() == 0:  # before loading data: RunWriter.start checks again when it claims the folder
        check_not_written_elsewhere(out, read_meta(out))
        if state is None or out.resolve() != ckpt.parent.resolve():  # only a run's own folder takes it further
            check_fresh_folder(out)
    world = distributed.setup(cfg.train.device)
    try:
        return _train(cfg, state, out, world)
    finally:
        distributed.teardown()


def _train(cfg: RunConfig, state: dict[str, Any] | None, out: Path, world: World) -> int:
    """The training of cmd_train in this process (rank `world.rank`): progress, saves and signals on rank 0."""
    from ..runs.checkpoints import clean_temp_files
    from ..runs.folders import RunWriter
    from ..runs.liveness import end_status
    from ..train.callbacks import FINAL_SCORE_MESSAGE, LOG, SCORED, QualityScore, find
    from ..train.distributed import peer_failure, rank_prefix
    from ..train.trainer import Trainer

    main = world.is_main
    say = (lambda text: print(text, file=sys.stderr)) if main else (lambda text: None)
    if main and out.parent.is_dir():
        clean_temp_files(out.parent)
    say(f"Loading data set '{cfg.data.name}'...")
    with TaskProgress() if main else contextlib.nullcontext() as progress:
        trainer = Trainer(cfg, progress=progress, world=world)
    for notice in [*trainer.data.notices, *([trainer.batches.notice] if trainer.batches.notice else [])]:
        say(f"notice: {notice}")
    if state is not None:
        trainer.load_state_dict(state)
        say(f"Resumed from step {trainer.step_count}.")
        saved = int(state.get("world_size", 1))
        if saved != world.size:
            say(f"notice: the checkpoint was trained by {saved} process(es), global batch {trainer.batch_size * saved};"
                f" now {world.size}, global batch {trainer.global_batch} (the batch per process and the learning rates"
                " are kept).")
    writer = RunWriter(out) if main else None
    if writer is not None:
        writer.start(trainer)
    stop = threading.Event()
    where = rank_prefix()

    owner = os.getpid()

    def on_signal(signum: int, frame: Any) -> None:
        if os.getpid() != owner:  # a DataLoader worker forked from here (streamed data): this process decides
            return
        # Under torchrun never abort: torchrun sends its own signals to every process (and its DataLoader workers).
        if stop.is_set() and signum == signal.SIGINT and not world.distributed:
            raise KeyboardInterrupt
        if stop.is_set():
            return
        stop.set()
        if world.distributed:
            print(f"\n{where}{signal.Signals(signum).name}: stopping all processes at the next log step and saving a "
                  "checkpoint...", file=sys.stderr)
        else:
            print("\nStopping: saving a checkpoint (Ctrl-C again to abort without saving)...", file=sys.stderr)

    handled = (signal.SIGINT, signal.SIGTERM)
    old = ({s: signal.signal(s, on_signal) for s in handled}
           if threading.current_thread() is threading.main_thread() else {})
    # Said once Ctrl-C is handled (a script may wait for this line before it signals).
    say(f"Training {cfg.preset or cfg.model.arch} on {trainer.hardware} into {out}")
    bar = TrainProgress(trainer.total_steps, trainer.step_count) if main else None
    if bar is not None:
        bar.update(trainer.step_count, trainer.total_steps, trainer.history)
    seen_alerts = len(trainer.alerts)
    scoring = find(trainer.callbacks, QualityScore)

    def on_step(t: Trainer, events: set[str]) -> None:
        nonlocal seen_alerts
        assert writer is not None and bar is not None
        writer.on_step(t, events)
        if events & {LOG, SCORED}:
            bar.update(t.step_count, t.total_steps, t.history)
        if t.step_count == t.total_steps and scoring is not None and scoring.busy:
            bar.write(FINAL_SCORE_MESSAGE)
        for alert in t.alerts[seen_alerts:]:
            bar.write(f"alert: {alert['message']}")
        seen_alerts = len(t.alerts)

    try:
        reason = trainer.run(stop.is_set, on_step if main else None)
        if bar is not None:
            bar.update(trainer.step_count, trainer.total_steps, trainer.history)
    except (UserError, RuntimeError) as e:
        failure = e if isinstance(e, UserError) else peer_failure(e, world)
        if failure is None:
            raise
        if writer is not None:
            writer.finish(trainer, "failed", f"{where}{failure}")
        if failure is e:
            raise
        raise failure from e
    finally:
        if bar is not None:
            bar.close()  # on every way out: a bar left open would push the next one (same process) a line down
        if world.distributed:
            # torchrun SIGTERMs the survivors of a lost rank at once: the default handler would kill this process
            # before it says why it ends (the error is printed by main). Keep ours, inert: the process ends anyway.
            stop.set()
        else:
            for s, handler in old.items():
                signal.signal(s, handler)
    status = end_status(reason)
    if writer is None:
        return 0
    writer.finish(trainer, status)
    print(f"{status}: step {trainer.step_count}/{trainer.total_steps} in {trainer.train_seconds:.1f}s; "
          f"checkpoint {writer.last_checkpoint}", file=sys.stderr)
    print(out)
    return 0


def cmd_sample(a: argparse.Namespace) -> int:
    import torch

    from ..images import grid_image
    from ..latent import sample_latents
    from ..runs.generator import load_generator
    from ..sampling import in_chunks

    out = Path(a.out)
    if out.suffix.lower() not in (".png", ".npy"):
        raise UserError(f"--out must end in .png (a grid, or a scatter of 2-D points) or .npy (an array), got "
                        f"'{out.name}'.")
    lg = load_generator(resolve_checkpoint(a.checkpoint))
    if lg.is_points:
        return _sample_points(a, lg, out)
    shape = tuple(lg.state["image_shape"])
    check_memory(f"{a.num:,} samples of {shape[1]} x {shape[2]} pixels",
                 sampling_bytes(a.num, shape, lg.generator.latent_dim), fix="ask for fewer with --num")
    z = sample_latents(a.num, lg.generator.latent_dim, a.seed, a.truncation)
    labels = None
    if lg.generator.num_classes:
        if a.label is not None and not 0 <= a.label < lg.generator.num_classes:
            raise UserError(f"--class must be in 0..{lg.generator.num_classes - 1}.")
        # One class, or the classes in turn over all samples (not restarting in each chunk).
        labels = (torch.full((a.num,), a.label) if a.label is not None
                  else torch.arange(a.num) % lg.generator.num_classes)
    images = in_chunks(lg.images, z, labels)  # N x C x H x W uint8
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".png":
        grid_image(images).save(out)
    else:
        np.save(out, images.permute(0, 2, 3, 1).contiguous().numpy())  # N x H x W x C
    print(out)
    return 0


def _sample_points(a: argparse.Namespace, lg: Any, out: Path) -> int:
    """A point generator's samples: N x 2 float32 coordinates (.npy), or their scatter plot over the real set (.png)."""

    from ..data import load_dataset
    from ..latent import sample_latents
    from ..sampling import in_chunks
    from ..train.playground import plot_extent
    from ..train.point_callbacks import REAL_SHOWN, render_scatter

    z = sample_latents(a.num, lg.generator.latent_dim, a.seed, a.truncation)
    points = in_chunks(lg.points, z)  # N x 2
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".npy":
        np.save(out, points.numpy().astype(np.float32))
    else:
        from PIL import Image

        real = load_dataset(lg.config.data).points
        image = render_scatter(real[:REAL_SHOWN].numpy(), points.numpy(), plot_extent(real), side=512)
        Image.fromarray(image[0].permute(1, 2, 0).numpy()).save(out)
    print(out)
    return 0


def cmd_list(a: argparse.Namespace) -> int:
    from ..catalog import ARCHS, DATASETS, LOSSES
    from ..runs.folders import checkpoint_root, list_runs

    if a.runs:
        runs = list_runs()
        if not runs:
            print(f"No runs under {checkpoint_root()}.")
        for r in runs:
            m = r.meta
            print(f"{r.name:44s} {m.get('status', '?'):8s} {m.get('dataset', '?'):13s} {m.get('arch', '?'):13s} "
                  f"step {m.get('step', '?')}/{m.get('total_steps', '?')}")
        return 0
    sections = [(title, {k: v.description for k, v in records.items()}) for title, records in
                (("Data sets", DATASETS), ("Architectures", ARCHS), ("Losses", LOSSES), ("Presets", PRESETS))]
    for title, items in sections:
        print(f"{title}:")
        for name, desc in items.items():
            print(f"  {name:24s} {desc}")
    return 0


def cmd_eval(a: argparse.Namespace) -> int:
    from ..metrics.evaluate import evaluate_checkpoint

    with TaskProgress() as progress:
        scores = evaluate_checkpoint(resolve_checkpoint(a.checkpoint), a.num, data_dir=a.data_dir, progress=progress)
    print(json.dumps(scores, indent=1))
    return 0


def cmd_export(a: argparse.Namespace) -> int:
    from ..runs.export import export_checkpoint

    print(export_checkpoint(resolve_checkpoint(a.checkpoint), a.out, a.format))
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        handler = {"train": cmd_train, "sample": cmd_sample, "list": cmd_list, "eval": cmd_eval,
                   "export": cmd_export}[args.command]
        return handler(args)
    except (UserError, OSError) as e:
        user = e if isinstance(e, UserError) else file_error(e)  # every file error is one sentence, exit 2
        from ..train.distributed import rank_prefix  # under torchrun: which rank failed

        print(f"error: {rank_prefix()}{user.for_cli()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\naborted.", file=sys.stderr)
        return 130
