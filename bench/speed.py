"""Training speed: the tutorials' own loops against the engine's Trainer, on the same models, data and batch sizes.

Run by hand (never a timed test):

    python bench/speed.py            # full run: 5 rounds x 3 s windows (5-10 minutes on 2 busy cores)
    python bench/speed.py --quick    # 2-4 minutes: 3 rounds x 1 s windows, smaller data sets, short profiles
    OMP_WAIT_POLICY=PASSIVE python bench/speed.py --quick   # OpenMP threads sleep at once (bench/threads.py)
    python bench/speed.py --recipes mnist-mlp-small fashion-dcgan64 --seconds 5 --rounds 7
    python bench/speed.py --device cuda --quick                # on a GPU: tables 1 and 3

Table 0, per default preset: the training step's achieved GFLOP/s (FLOPs counted by torch.utils.flop_counter, times
the steps/second measured) against the same machine's 1-thread 1024 x 1024 fp32 matmul, alternately in one run, and
their ratio (target >= 75%).

Table 1, per tutorial recipe at its own batch size, images/second of
  (a) the tutorial's loop as the tutorial wrote it: a DataLoader over a TensorDataset of float images in [-1, 1],
      a discriminator ending in Sigmoid + nn.BCELoss, default Adam and zero_grad(), `.item()` on the losses every
      step (bench/tutorials.py says which tutorial each loop copies, line by line);
  (b) the engine: gan_core.train.trainer.Trainer on the same architecture (both are built by
      gan_core.models.build_models
      from the preset's config), the same data (kept as uint8 on the device) and batch size, calling trainer.step()
      and trainer.flush_metrics() every log_every steps as Trainer.run does.
(a) and (b) are measured alternately (a, b, a, b, ...) in one process after a warm-up, so a change in machine load
hits both; the ratio b/a is reported per round as min / median / max. (a') is the tutorial loop on the engine's
thread count, to separate the thread choice from the rest. Images/second counts generator steps x batch size for
both (WGAN-GP's critic sees n_critic real batches per generator step in both loops). "matrix FLOPs a/b" is how much
more matrix work (matmuls, convolutions) one tutorial step does than one engine step: with the same thread count a
compute-bound recipe cannot gain much more than that, plus what faster kernels (channels_last) give.

Table 2, per data set: images/second of the tuned default preset through the Trainer, and where a step's time goes
according to the PyTorch profiler: "matrix" is the self time of matrix multiplications and convolutions (forward and
backward), "overhead" is everything else in the step's wall time (elementwise ops, normalisation, the optimizer,
Python and dispatch), with the biggest non-matrix operators listed so the next bottleneck is visible.

Table 3, with --device cuda only: the engine's images/second on the GPU with its CUDA switches (cudnn.benchmark,
channels_last, bf16 autocast, torch.compile) added one at a time, for --switch-recipes (default fashion-dcgan64).

The data are random images of each set's shape (no files needed): speed does not depend on pixel values.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from gan_core.catalog import POINT_DATASETS
from gan_core.device import cpu_bf16_speedup, describe_device, fast_bf16
from gan_core.expectation import NATIVE
from gan_core.presets import PRESETS, preset_config
from gan_core.train.trainer import Trainer
from machine import LoadMeter, machine_class, matmul_gflops
from tutorials import RECIPES, recipe_config, synthetic, tutorial_loop


# Self time of these operators is matrix work (GEMMs and convolutions, forward and backward, oneDNN or not).
MATRIX_OPS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::matmul", "aten::linear",
              "aten::_convolution", "aten::convolution", "aten::conv2d", "aten::conv_transpose2d",
              "aten::convolution_backward", "aten::mkldnn_convolution", "aten::_mkldnn_convolution",
              "aten::mkldnn_convolution_backward", "aten::slow_conv2d_forward", "aten::slow_conv2d_backward",
              "aten::slow_conv_transpose2d", "aten::slow_conv_transpose2d_backward", "aten::_slow_conv2d_forward",
              "aten::_slow_conv2d_backward", "aten::thnn_conv2d", "aten::mkldnn_linear")


# ---- timing -----------------------------------------------------------------------------------------------------
def time_tutorial(steps: Iterator[tuple[float, float]], batch: int, seconds: float) -> float:
    """Images/second of the tutorial loop over a window of `seconds` (CPU: .item() already synchronises)."""
    n, t0 = 0, time.perf_counter()
    while True:
        next(steps)
        n += 1
        if time.perf_counter() - t0 >= seconds:
            return n * batch / (time.perf_counter() - t0)


def engine_steps(trainer: Trainer) -> Callable[[], None]:
    def one() -> None:
        trainer.step()
        if trainer.step_metrics.full:  # as Trainer.run: one host sync per log_every steps
            trainer.flush_metrics()

    return one


def time_engine(trainer: Trainer, seconds: float) -> float:
    """Images/second of trainer.step() over a window, flushed (synchronised) at the end of the window."""
    one = engine_steps(trainer)
    n, t0 = 0, time.perf_counter()
    while True:
        one()
        n += 1
        if time.perf_counter() - t0 >= seconds:
            trainer.flush_metrics()
            if trainer.device.type == "cuda":
                torch.cuda.synchronize()
            return n * trainer.batch_size / (time.perf_counter() - t0)


def gflops(step: Callable[[], object]) -> float | None:
    """Matrix GFLOP of one step (matmuls and convolutions, forward and backward), or None where the counter
    cannot follow (autograd.grad inside the step, as in the gradient penalty)."""
    from torch.utils.flop_counter import FlopCounterMode

    try:
        with FlopCounterMode(display=False) as counter:
            step()
    except RuntimeError:
        return None
    return counter.get_total_flops() / 1e9


# ---- machine and load -------------------------------------------------------------------------------------------
def describe_machine() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return (f"{machine_class().describe()}\ntorch {torch.__version__}, "
            f"{torch.get_num_threads()} intra-op threads by default, OMP_WAIT_POLICY="
            f"{os.environ.get('OMP_WAIT_POLICY', 'unset')}, GOMP_SPINCOUNT="
            f"{os.environ.get('GOMP_SPINCOUNT', 'unset')}; engine precision: "
            f"{'bf16 autocast' if fast_bf16(torch.device('cpu')) else 'fp32'} ({bf16_note()}); "
            f"Python {platform.python_version()}; "
            f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


def bf16_note() -> str:
    speedup = cpu_bf16_speedup()
    if speedup is None:
        return "no bf16 instructions"
    return f"bf16 probe {speedup:.2f}x fp32's speed"


# ---- table 0: the default step against the machine's matmul ----------------------------------------------------
def bench_efficiency(presets: list[str], seconds: float, rounds: int, n_images: int) -> None:
    """Achieved GFLOP/s of each preset's training step (FLOPs from torch.utils.flop_counter x steps/s) against the
    1-thread 1024 x 1024 fp32 matmul, alternately in one process (target: the step at >= 75% of the matmul)."""
    print("\n### Use of the machine: the training step's GFLOP/s against a 1-thread matmul's (medians over rounds)\n")
    print("| preset | threads | precision | MFLOP/image/step | steps/s | step GFLOP/s | matmul GFLOP/s (1 thread) "
          "| step / matmul min / median / max |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for name in presets:
        cfg = preset_config(name, data_dir="unused")
        cfg.train.device = "cpu"
        c, s, _ = NATIVE[cfg.data.name]
        shape = (cfg.data.channels or c, cfg.data.image_size or s, cfg.data.image_size or s)
        data = synthetic(shape, n_images, name=cfg.data.name)
        # an untrained cluster balance (where the recipe has one) costs a step the same, without its training
        flops = gflops(Trainer(cfg.copy(), data=data, untrained_balance=True).step)  # a throwaway copy runs one step
        trainer = Trainer(cfg, data=data, untrained_balance=True)
        time_engine(trainer, min(seconds, 1.0))  # warm-up
        steps, mats = [], []
        for _ in range(rounds):
            mats.append(matmul_gflops(reps=5))
            steps.append(time_engine(trainer, seconds) / trainer.batch_size)
        step_gf = [n * (flops or 0.0) for n in steps]
        ratios = [g / m for g, m in zip(step_gf, mats)]
        med = statistics.median
        print(f"| {name} | {torch.get_num_threads()} | {trainer.runtime.hardware.rsplit(', ', 1)[-1]} "
              f"| {1000 * (flops or 0.0) / trainer.batch_size:.1f} | {med(steps):.1f} | {med(step_gf):.1f} "
              f"| {med(mats):.1f} | {min(ratios):.0%} / **{med(ratios):.0%}** / {max(ratios):.0%} |", flush=True)


# ---- table 1 ----------------------------------------------------------------------------------------------------
def bench_recipes(names: list[str], seconds: float, rounds: int, n_images: int, warmup: float,
                  device: str = "cpu") -> None:
    default_threads = torch.get_num_threads()
    rows = []
    for name in names:
        recipe = RECIPES[name]
        cfg = recipe_config(name, device)
        data = synthetic(recipe.shape, n_images)
        tutorial = tutorial_loop(cfg, data, recipe.loop)
        torch.set_num_threads(default_threads)
        trainer = Trainer(recipe_config(name, device), data=data)
        engine_threads = torch.get_num_threads()  # the Trainer chooses its own thread count on the CPU
        same = engine_threads == default_threads
        # Matrix work per step, counted on throwaway copies (a failed count leaves a generator or trainer unusable).
        fa = gflops(lambda c=cfg, d=data, s=recipe.loop: next(tutorial_loop(c, d, s)))
        fb = gflops(Trainer(recipe_config(name, device), data=data).step)
        meter = LoadMeter()
        a_runs, s_runs, b_runs = [], [], []
        for r in range(rounds + 1):  # round 0 is the warm-up, not reported
            window = warmup if r == 0 else seconds
            torch.set_num_threads(default_threads)
            a = time_tutorial(tutorial, cfg.train.batch_size, window)  # (a) as written: torch's default threads
            torch.set_num_threads(engine_threads)
            s_ = a if same else time_tutorial(tutorial, cfg.train.batch_size, window)  # (a) on the engine's threads
            b = time_engine(trainer, window)
            if r > 0:
                a_runs.append(a)
                s_runs.append(s_)
                b_runs.append(b)
        torch.set_num_threads(default_threads)
        ratios = [b / a for a, b in zip(a_runs, b_runs)]
        same_ratios = [b / a for a, b in zip(s_runs, b_runs)]
        others = meter.others()
        med = statistics.median
        rows.append((name, cfg.train.batch_size, "x".join(map(str, recipe.shape)), recipe.loop, med(a_runs),
                     med(s_runs), med(b_runs), min(ratios), med(ratios), max(ratios), min(same_ratios),
                     med(same_ratios), max(same_ratios), engine_threads, others,
                     None if fa is None or fb is None else fa / fb))
        print(f"  {name}: a {med(a_runs):.0f}, a@engine threads {med(s_runs):.0f}, b {med(b_runs):.0f} img/s, "
              f"b/a median {med(ratios):.2f}", file=sys.stderr, flush=True)
    t0 = torch.get_num_threads()
    print("\n### Tutorial loop (a) vs engine (b), images/second (medians over rounds)\n")
    print(f"(a) runs at torch's default {t0} threads, as the tutorials do; (a') is the same loop on the engine's "
          "thread count, to separate the thread choice from the rest.\n")
    print("| recipe | batch | image | tutorial loop | (a) tutorial | (a') tutorial, engine threads | (b) engine "
          "| b/a min / median / max | b/a' min / median / max | matrix FLOPs a/b | engine threads "
          "| other load (cores) |")
    print("| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for (name, b, shape, loop, a, s_, e, lo, md, hi, slo, smd, shi, thr, others, fr) in rows:
        load = "n/a" if others is None else f"{others:.2f}"
        flops = "n/a" if fr is None else f"{fr:.2f}"
        print(f"| {name} | {b} | {shape} | {loop} | {a:,.0f} | {s_:,.0f} | {e:,.0f} "
              f"| {lo:.2f} / **{md:.2f}** / {hi:.2f} "
              f"| {slo:.2f} / {smd:.2f} / {shi:.2f} | {flops} | {thr} | {load} |")


# ---- table 2 ----------------------------------------------------------------------------------------------------
def profile_steps(trainer: Trainer, steps: int) -> tuple[float, float, list[tuple[str, float]]]:
    """(wall ms per step, matrix ms per step, [(op, ms per step)] of the biggest non-matrix operators), from one
    stretch of steps under the PyTorch profiler (wall and matrix times come from the same steps)."""
    from torch.profiler import ProfilerActivity, profile

    one = engine_steps(trainer)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        t0 = time.perf_counter()
        for _ in range(steps):
            one()
        trainer.flush_metrics()
        wall = (time.perf_counter() - t0) * 1000.0 / steps
    matrix = 0.0
    other: list[tuple[str, float]] = []
    for ev in prof.key_averages():
        ms = ev.self_cpu_time_total / 1000.0 / steps
        if ev.key in MATRIX_OPS:
            matrix += ms
        elif not ev.key.startswith("ProfilerStep"):
            other.append((ev.key, ms))
    other.sort(key=lambda kv: -kv[1])
    return wall, matrix, other


def bench_defaults(seconds: float, rounds: int, n_images: int, profile_n: int) -> None:
    default_threads = torch.get_num_threads()
    rows = []
    for name in [p for p in PRESETS if p.endswith("-default") and PRESETS[p].data["name"] not in POINT_DATASETS]:
        cfg = preset_config(name, data_dir="unused")
        cfg.train.device = "cpu"
        c, s, _ = NATIVE[cfg.data.name]
        shape = (cfg.data.channels or c, cfg.data.image_size or s, cfg.data.image_size or s)
        torch.set_num_threads(default_threads)
        trainer = Trainer(cfg, data=synthetic(shape, n_images, name=cfg.data.name), untrained_balance=True)
        time_engine(trainer, min(seconds, 1.0))  # warm-up
        speeds = [time_engine(trainer, seconds) for _ in range(rounds)]
        ips = statistics.median(speeds)
        step_ms, matrix, other = profile_steps(trainer, profile_n)
        overhead = max(0.0, step_ms - matrix)
        top = ", ".join(f"{k.removeprefix('aten::')} {v:.1f}" for k, v in other[:4])
        rows.append((cfg.data.name, name, trainer.batch_size, "x".join(map(str, shape)), ips, step_ms, matrix,
                     overhead, torch.get_num_threads(), top))
        print(f"  {name}: {ips:.0f} img/s", file=sys.stderr, flush=True)
    torch.set_num_threads(default_threads)
    print("\n### Default preset per data set: engine images/second and where a step's time goes\n")
    print("| data set | preset | batch | image | img/s | ms/step (profiled) | matrix ms | overhead ms | overhead % "
          "| threads "
          "| biggest non-matrix ops (self ms/step) |")
    print("| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for (ds, name, b, shape, ips, step_ms, matrix, overhead, thr, top) in rows:
        print(f"| {ds} | {name} | {b} | {shape} | {ips:,.0f} | {step_ms:.1f} | {matrix:.1f} | {overhead:.1f} "
              f"| {100 * overhead / step_ms:.0f}% | {thr} | {top} |")


# ---- table 3 (CUDA) ---------------------------------------------------------------------------------------------
# Each row adds one switch to the row above; the first is the engine with every CUDA switch off.
CUDA_SWITCHES: tuple[tuple[str, dict[str, bool], bool], ...] = (  # (label, TrainConfig switches, cudnn.benchmark)
    ("none: fp32, NCHW, eager, cudnn.benchmark off", {}, False),
    ("+ cudnn.benchmark", {}, True),
    ("+ channels_last", {"channels_last": True}, True),
    ("+ bf16 autocast", {"channels_last": True, "amp": True}, True),
    ("+ torch.compile (every switch on)", {"channels_last": True, "amp": True, "compile": True}, True),
)


def bench_cuda_switches(names: list[str], seconds: float, rounds: int, n_images: int, warmup: float) -> None:
    """Images/second of the engine on CUDA with its switches added one at a time, measured alternately."""
    print("\n### CUDA switches: engine images/second (medians over rounds)\n")
    print("| recipe | switches | img/s | vs none min / median / max |")
    print("| --- | --- | ---: | ---: |")
    for name in names:
        data = synthetic(RECIPES[name].shape, n_images)
        runs = []
        for label, switches, benchmark in CUDA_SWITCHES:
            cfg = recipe_config(name, "cuda")
            cfg.train.amp = cfg.train.channels_last = cfg.train.compile = False
            for key, value in switches.items():
                setattr(cfg.train, key, value)
            runs.append((label, Trainer(cfg, data=data), benchmark, []))
        for r in range(rounds + 1):  # round 0 warms up (and compiles), not reported
            for _, trainer, benchmark, speeds in runs:
                torch.backends.cudnn.benchmark = benchmark  # the Trainer turns it on; the first row turns it off
                ips = time_engine(trainer, warmup if r == 0 else seconds)
                if r > 0:
                    speeds.append(ips)
        base = runs[0][3]
        for label, _, _, speeds in runs:
            ratios = [s / b for s, b in zip(speeds, base)]
            print(f"| {name} | {label} | {statistics.median(speeds):,.0f} | {min(ratios):.2f} / "
                  f"**{statistics.median(ratios):.2f}** / {max(ratios):.2f} |", flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\nTable 1")[0],
                                 epilog="Quick check: python bench/speed.py --quick  (2-4 minutes). "
                                        "Timings are noisy on a shared machine: read the ratios and the load column.",
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=None, help="seconds per timed window (default 3)")
    ap.add_argument("--rounds", type=int, default=None, help="alternating (a, b) rounds after the warm-up (default 5)")
    ap.add_argument("--warmup", type=float, default=None, help="seconds of warm-up for each of (a) and (b) (default 1)")
    ap.add_argument("--recipes", nargs="+", choices=list(RECIPES), default=list(RECIPES),
                    help="tutorial recipes for table 1 (default: all five)")
    ap.add_argument("--images", type=int, default=None, help="synthetic images per data set (default 10000)")
    ap.add_argument("--profile-steps", type=int, default=None, help="steps profiled per default preset (default 20)")
    ap.add_argument("--efficiency", nargs="+", default=["shapes-default"], metavar="PRESET",
                    help="presets for table 0, the step's GFLOP/s against the matmul's (default: shapes-default)")
    ap.add_argument("--no-efficiency", action="store_true", help="skip table 0")
    ap.add_argument("--no-recipes", action="store_true", help="skip table 1")
    ap.add_argument("--no-defaults", action="store_true", help="skip table 2")
    ap.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                    help="cuda: tables 1 and 3 (the CUDA switches) on the GPU; table 2 is CPU only")
    ap.add_argument("--switch-recipes", nargs="+", choices=list(RECIPES), default=["fashion-dcgan64"],
                    help="recipes for table 3 with --device cuda (default: fashion-dcgan64)")
    ap.add_argument("--threads", type=int, default=None,
                    help="intra-op threads for the tutorial loops (default: torch's default for this machine)")
    ap.add_argument("--quick", action="store_true",
                    help="a fast look: 3 rounds x 1 s, 0.5 s warm-up, 4096 images, 5 profiled steps "
                         "(explicit options win)")
    args = ap.parse_args(argv)
    # --quick changes the defaults; options given explicitly still win.
    preset = (1.0, 3, 0.5, 4096, 5) if args.quick else (3.0, 5, 1.0, 10000, 20)
    for name, value in zip(("seconds", "rounds", "warmup", "images", "profile_steps"), preset):
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("error: --device cuda, but torch sees no CUDA GPU here: run on a machine with an NVIDIA GPU and a "
                 "CUDA build of torch, or leave out --device to measure the CPU.")
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"# GAN Workbench training speed\n\n{describe_machine()}")
    if args.device == "cuda":
        print(describe_device(torch.device("cuda")))
    print(f"\nSettings: {args.seconds:g} s per window, {args.rounds} rounds after {args.warmup:g} s warm-up, "
          f"{args.images} synthetic images per set, device {args.device}.")
    meter = LoadMeter()
    if args.device == "cpu" and not args.no_efficiency:
        bench_efficiency(args.efficiency, args.seconds, args.rounds, args.images)
    if not args.no_recipes:
        bench_recipes(args.recipes, args.seconds, args.rounds, args.images, args.warmup, args.device)
    if args.device == "cuda":
        bench_cuda_switches(args.switch_recipes, args.seconds, args.rounds, args.images, args.warmup)
    elif not args.no_defaults:
        bench_defaults(args.seconds, max(1, args.rounds // 2), args.images, args.profile_steps)
    others = meter.others()
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"\nOther processes used {others if others is not None else float('nan'):.2f} cores on average during the "
          f"run; load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}.")


if __name__ == "__main__":
    main()
