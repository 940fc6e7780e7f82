"""Training speed: the tutorials' own loops against the engine's Trainer, on the same models, data and batch sizes.

Run by hand (never a timed test):

    python bench/speed.py            # full run: 5 rounds x 3 s windows (5-10 minutes on 2 busy cores)
    python bench/speed.py --quick    # 2-4 minutes: 3 rounds x 1 s windows, smaller data sets, short profiles
    OMP_WAIT_POLICY=PASSIVE python bench/speed.py --quick   # OpenMP threads sleep instead of spinning
    python bench/speed.py --recipes mnist-mlp-small fashion-dcgan64 --seconds 5 --rounds 7

Table 1, per tutorial recipe at its own batch size, images/second of
  (a) the tutorial's loop as the tutorial wrote it: a DataLoader over a TensorDataset of float images in [-1, 1],
      a discriminator ending in Sigmoid + nn.BCELoss, default Adam and zero_grad(), `.item()` on the losses every
      step (see TUTORIAL LOOPS below for which tutorial each loop copies, line by line);
  (b) the engine: gan_core.trainer.Trainer on the same architecture (both are built by gan_core.models.build_models
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
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from gan_core.config import RunConfig
from gan_core.data import ImageData
from gan_core.device import native_bf16
from gan_core.models import build_models
from gan_core.presets import PRESETS, preset_config
from gan_core.trainer import Trainer
from machine import LoadMeter, cpu_name


@dataclass(frozen=True)
class Recipe:
    shape: tuple[int, int, int]  # C, H, W of the synthetic data
    loop: str  # which tutorial loop (a) copies: see TUTORIAL LOOPS


# Each tutorial recipe with the data shape it trains on (fashion-dcgan64 resizes Fashion-MNIST to 64x64).
RECIPES: dict[str, Recipe] = {
    "mnist-mlp-small": Recipe((1, 28, 28), "detach"),
    "mnist-mlp-deep": Recipe((1, 28, 28), "realpython"),
    "cifar10-upsample-conv": Recipe((3, 32, 32), "detach"),
    "fashion-dcgan64": Recipe((1, 64, 64), "pytorch-dcgan"),
    "cifar10-wgan-gp": Recipe((3, 32, 32), "wgan-gp"),
}
NATIVE_SHAPES = {"shapes": (3, 32), "mnist": (1, 28), "fashion_mnist": (1, 28), "cifar10": (3, 32),
                 "celeba": (3, 64), "folder": (3, 64)}
# Self time of these operators is matrix work (GEMMs and convolutions, forward and backward, oneDNN or not).
MATRIX_OPS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::matmul", "aten::linear",
              "aten::_convolution", "aten::convolution", "aten::conv2d", "aten::conv_transpose2d",
              "aten::convolution_backward", "aten::mkldnn_convolution", "aten::_mkldnn_convolution",
              "aten::mkldnn_convolution_backward", "aten::slow_conv2d_forward", "aten::slow_conv2d_backward",
              "aten::slow_conv_transpose2d", "aten::slow_conv_transpose2d_backward", "aten::_slow_conv2d_forward",
              "aten::_slow_conv2d_backward", "aten::thnn_conv2d", "aten::mkldnn_linear")


# ---- data -------------------------------------------------------------------------------------------------------
def synthetic(shape: tuple[int, int, int], n: int, seed: int = 0) -> ImageData:
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, *shape), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, 10, (n,), generator=g)
    return ImageData(images, labels, [str(i) for i in range(10)], name="synthetic")


def recipe_config(name: str) -> RunConfig:
    cfg = preset_config(name)
    cfg.train.device = "cpu"
    return cfg


# ---- TUTORIAL LOOPS ---------------------------------------------------------------------------------------------
# Each is an endless generator that does one generator step per next(); the epoch loop re-creates the DataLoader
# iterator as `for epoch in range(num_epochs): for real, _ in loader:` does. Common to all, as the tutorials write it:
#   dataset = TensorDataset(images_in_[-1,1], labels); loader = DataLoader(dataset, batch_size=B, shuffle=True)
#   D ends in nn.Sigmoid() and the loss is nn.BCELoss() on its probabilities (not BCE with logits)
#   torch.optim.Adam(params, lr, betas) with no foreach/fused flag; model.zero_grad() / opt.zero_grad() defaults
#   loss.item() appended to a Python list every step (the tutorials' loss curves)
def tutorial_loop(cfg: RunConfig, data: ImageData, style: str) -> Iterator[None]:
    t, latent = cfg.train, cfg.model.latent_dim
    torch.manual_seed(t.seed)
    G, D_logits = build_models(cfg.model, data.shape, data.num_classes, t.loss)  # the engine's exact architecture
    real_images = data.images.float() / 127.5 - 1.0  # the tutorials' ToTensor + Normalize((0.5,), (0.5,))
    loader = DataLoader(TensorDataset(real_images, data.labels), batch_size=t.batch_size, shuffle=True, drop_last=True)
    opt_g = torch.optim.Adam(G.parameters(), lr=t.lr_g, betas=(t.beta1, t.beta2))
    opt_d = torch.optim.Adam(D_logits.parameters(), lr=t.lr_d, betas=(t.beta1, t.beta2))
    G.train()
    D_logits.train()
    losses_d: list[float] = []
    losses_g: list[float] = []

    def batches() -> Iterator[torch.Tensor]:
        while True:  # for epoch in range(num_epochs):
            for real, _ in loader:  # for n, (real_samples, labels) in enumerate(train_loader):
                yield real

    if style == "wgan-gp":
        # caogang/wgan-gp gan_cifar10.py (the usual PyTorch port of Gulrajani et al.): a fresh real batch per critic
        # iteration from an endless DataLoader generator, three critic forwards (real, fake, interpolates), three
        # backward calls, D frozen (requires_grad False) for the generator step; no Sigmoid, no BCE.
        D = D_logits
        one, mone = torch.tensor(1.0), torch.tensor(-1.0)
        data_iter = batches()

        def calc_gradient_penalty(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
            alpha = torch.rand(real.size(0), 1, 1, 1).expand(real.size())
            interpolates = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
            disc_interpolates = D(interpolates)
            gradients = torch.autograd.grad(outputs=disc_interpolates, inputs=interpolates,
                                            grad_outputs=torch.ones(disc_interpolates.size()),
                                            create_graph=True, retain_graph=True, only_inputs=True)[0]
            gradients = gradients.view(gradients.size(0), -1)
            return ((gradients.norm(2, dim=1) - 1) ** 2).mean() * t.gp_lambda

        while True:
            for p in D.parameters():
                p.requires_grad = True
            for _ in range(t.n_critic):
                real = next(data_iter)
                D.zero_grad()
                D_real = D(real).mean()
                D_real.backward(mone)
                noise = torch.randn(t.batch_size, latent)
                with torch.no_grad():
                    fake = G(noise)
                D_fake = D(fake).mean()
                D_fake.backward(one)
                gp = calc_gradient_penalty(real, fake)
                gp.backward()
                D_cost = D_fake - D_real + gp
                Wasserstein_D = D_real - D_fake
                opt_d.step()
            for p in D.parameters():
                p.requires_grad = False
            G.zero_grad()
            noise = torch.randn(t.batch_size, latent)
            fake = G(noise)
            G_cost = -D(fake).mean()
            G_cost.backward()
            opt_g.step()
            losses_d.append(D_cost.item())
            losses_g.append(G_cost.item())
            losses_d.append(Wasserstein_D.item())
            yield

    D = nn.Sequential(D_logits, nn.Sigmoid())  # the tutorials' D ends in nn.Sigmoid()
    criterion = nn.BCELoss()
    data_iter = batches()
    while True:
        real = next(data_iter)
        b = real.size(0)
        if style == "realpython":
            # Real Python "Generative Adversarial Networks: Build Your First Models" (MNIST, G 100-256-512-1024-784):
            # real and generated samples concatenated into one D batch with label tensors, the fake batch NOT
            # detached (D's backward also runs through G), then a second, fresh G forward for the generator step.
            real_samples_labels = torch.ones((b, 1))
            latent_space_samples = torch.randn((b, latent))
            generated_samples = G(latent_space_samples)
            generated_samples_labels = torch.zeros((b, 1))
            all_samples = torch.cat((real, generated_samples))
            all_samples_labels = torch.cat((real_samples_labels, generated_samples_labels))
            D.zero_grad()
            output_discriminator = D(all_samples).view(-1, 1)
            loss_discriminator = criterion(output_discriminator, all_samples_labels)
            loss_discriminator.backward()
            opt_d.step()
            latent_space_samples = torch.randn((b, latent))
            G.zero_grad()
            generated_samples = G(latent_space_samples)
            output_discriminator_generated = D(generated_samples).view(-1, 1)
            loss_generator = criterion(output_discriminator_generated, real_samples_labels)
            loss_generator.backward()
            opt_g.step()
            losses_d.append(loss_discriminator.item())
            losses_g.append(loss_generator.item())
        elif style == "detach":
            # The common "simple GAN" loop (one G forward per step): D on real and on fake.detach(), averaged
            # BCE, then D called again on the same fake for the generator's loss.
            noise = torch.randn(b, latent)
            fake = G(noise)
            disc_real = D(real).view(-1)
            loss_d_real = criterion(disc_real, torch.ones_like(disc_real))
            disc_fake = D(fake.detach()).view(-1)
            loss_d_fake = criterion(disc_fake, torch.zeros_like(disc_fake))
            loss_d = (loss_d_real + loss_d_fake) / 2
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
            output = D(fake).view(-1)
            loss_g = criterion(output, torch.ones_like(output))
            opt_g.zero_grad()
            loss_g.backward()
            opt_g.step()
            losses_d.append(loss_d.item())
            losses_g.append(loss_g.item())
        elif style == "pytorch-dcgan":
            # The PyTorch DCGAN tutorial (pytorch.org/tutorials/beginner/dcgan_faces_tutorial), with this recipe's
            # smoothed labels (0.9 / 0.1): separate backward calls for real and fake, D(x), D(G(z)) read with .item().
            D.zero_grad()
            label = torch.full((b,), t.real_label, dtype=torch.float)
            output = D(real).view(-1)
            errD_real = criterion(output, label)
            errD_real.backward()
            D_x = output.mean().item()
            noise = torch.randn(b, latent)
            fake = G(noise)
            label.fill_(t.fake_label)
            output = D(fake.detach()).view(-1)
            errD_fake = criterion(output, label)
            errD_fake.backward()
            D_G_z1 = output.mean().item()
            errD = errD_real + errD_fake
            opt_d.step()
            G.zero_grad()
            label.fill_(1.0)  # fake labels are real for generator cost
            output = D(fake).view(-1)
            errG = criterion(output, label)
            errG.backward()
            D_G_z2 = output.mean().item()
            opt_g.step()
            losses_g.append(errG.item())
            losses_d.append(errD.item())
            del D_x, D_G_z1, D_G_z2
        else:
            raise ValueError(style)
        yield


# ---- timing -----------------------------------------------------------------------------------------------------
def time_tutorial(steps: Iterator[None], batch: int, seconds: float) -> float:
    """Images/second of the tutorial loop over a window of `seconds` (CPU: .item() already synchronises)."""
    n, t0 = 0, time.perf_counter()
    while True:
        next(steps)
        n += 1
        if time.perf_counter() - t0 >= seconds:
            return n * batch / (time.perf_counter() - t0)


def engine_steps(trainer: Trainer) -> Callable[[], None]:
    every = trainer.config.train.log_every

    def one() -> None:
        trainer.step()
        if trainer._buf_n >= every:  # as Trainer.run: one host sync per log_every steps
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
    return (f"CPU: {cpu_name()}, {os.cpu_count()} logical cores; torch {torch.__version__}, "
            f"{torch.get_num_threads()} intra-op threads by default, OMP_WAIT_POLICY="
            f"{os.environ.get('OMP_WAIT_POLICY', 'unset (threads spin)')}; engine precision: "
            f"{'bf16 autocast (native bf16 CPU)' if native_bf16(torch.device('cpu')) else 'fp32'}; "
            f"Python {platform.python_version()}; "
            f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


# ---- table 1 ----------------------------------------------------------------------------------------------------
def bench_recipes(names: list[str], seconds: float, rounds: int, n_images: int, warmup: float) -> None:
    default_threads = torch.get_num_threads()
    rows = []
    for name in names:
        recipe = RECIPES[name]
        cfg = recipe_config(name)
        data = synthetic(recipe.shape, n_images)
        tutorial = tutorial_loop(cfg, data, recipe.loop)
        torch.set_num_threads(default_threads)
        trainer = Trainer(recipe_config(name), data=data)
        engine_threads = torch.get_num_threads()  # the Trainer chooses its own thread count on the CPU
        same = engine_threads == default_threads
        # Matrix work per step, counted on throwaway copies (a failed count leaves a generator or trainer unusable).
        fa = gflops(lambda c=cfg, d=data, s=recipe.loop: next(tutorial_loop(c, d, s)))
        fb = gflops(Trainer(recipe_config(name), data=data).step)
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
          "| b/a min / median / max | b/a' min / median / max | matrix FLOPs a/b | engine threads | other load (cores) |")
    print("| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for (name, b, shape, loop, a, s_, e, lo, md, hi, slo, smd, shi, thr, others, fr) in rows:
        load = "n/a" if others is None else f"{others:.2f}"
        flops = "n/a" if fr is None else f"{fr:.2f}"
        print(f"| {name} | {b} | {shape} | {loop} | {a:,.0f} | {s_:,.0f} | {e:,.0f} | {lo:.2f} / **{md:.2f}** / {hi:.2f} "
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
    for name in [p for p in PRESETS if p.endswith("-default")]:
        cfg = preset_config(name, data_dir="unused")
        cfg.train.device = "cpu"
        c, s = NATIVE_SHAPES[cfg.data.name]
        shape = (cfg.data.channels or c, cfg.data.image_size or s, cfg.data.image_size or s)
        torch.set_num_threads(default_threads)
        trainer = Trainer(cfg, data=synthetic(shape, n_images))
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
    print("| data set | preset | batch | image | img/s | ms/step (profiled) | matrix ms | overhead ms | overhead % | threads "
          "| biggest non-matrix ops (self ms/step) |")
    print("| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for (ds, name, b, shape, ips, step_ms, matrix, overhead, thr, top) in rows:
        print(f"| {ds} | {name} | {b} | {shape} | {ips:,.0f} | {step_ms:.1f} | {matrix:.1f} | {overhead:.1f} "
              f"| {100 * overhead / step_ms:.0f}% | {thr} | {top} |")


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
    ap.add_argument("--no-recipes", action="store_true", help="skip table 1")
    ap.add_argument("--no-defaults", action="store_true", help="skip table 2")
    ap.add_argument("--threads", type=int, default=None,
                    help="intra-op threads for the tutorial loops (default: torch's default for this machine)")
    ap.add_argument("--quick", action="store_true",
                    help="a fast look: 3 rounds x 1 s, 0.5 s warm-up, 4096 images, 5 profiled steps (explicit options win)")
    args = ap.parse_args(argv)
    # --quick changes the defaults; options given explicitly still win.
    preset = (1.0, 3, 0.5, 4096, 5) if args.quick else (3.0, 5, 1.0, 10000, 20)
    for name, value in zip(("seconds", "rounds", "warmup", "images", "profile_steps"), preset):
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"# GAN Workbench training speed\n\n{describe_machine()}")
    print(f"\nSettings: {args.seconds:g} s per window, {args.rounds} rounds after {args.warmup:g} s warm-up, "
          f"{args.images} synthetic images per set, device cpu.")
    meter = LoadMeter()
    if not args.no_recipes:
        bench_recipes(args.recipes, args.seconds, args.rounds, args.images, args.warmup)
    if not args.no_defaults:
        bench_defaults(args.seconds, max(1, args.rounds // 2), args.images, args.profile_steps)
    others = meter.others()
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"\nOther processes used {others if others is not None else float('nan'):.2f} cores on average during the "
          f"run; load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}.")


if __name__ == "__main__":
    main()
