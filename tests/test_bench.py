"""The benches still run: every tutorial loop trains, and speed.py prints its tables (figures are not checked)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest
import torch
from conftest import tiny_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import machine  # noqa: E402
import quality  # noqa: E402
import speed  # noqa: E402
import tutorials  # noqa: E402

LOOPS = [("detach", "mlp-small", "bce"), ("realpython", "mlp-deep", "bce"), ("pytorch-dcgan", "dcgan", "bce"),
         ("wgan-gp", "dcgan", "wgan-gp")]


@pytest.mark.parametrize(("style", "arch", "loss"), LOOPS)
def test_each_tutorial_loop_trains_the_engine_architecture(style: str, arch: str, loss: str) -> None:
    cfg = tiny_config(arch, loss, n_critic=2)
    data = tutorials.synthetic((3, 16, 16), 64)
    steps = tutorials.tutorial_loop(cfg, data, style)
    losses = [next(steps) for _ in range(6)]
    assert all(math.isfinite(x) for pair in losses for x in pair)
    assert len({pair[1] for pair in losses}) > 1  # the generator's loss moves: the optimizers step


def test_speed_bench_prints_both_cpu_tables(capsys) -> None:
    threads = torch.get_num_threads()
    try:
        speed.main(["--recipes", "mnist-mlp-small", "--seconds", "0.05", "--rounds", "1", "--warmup", "0.05",
                    "--images", "256", "--profile-steps", "1"])
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("| mnist-mlp-small | 32 | 1x28x28 | detach |"))
    assert float(row.split("|")[5].replace(",", "")) > 0  # (a) tutorial img/s
    assert all(f"| {name}-default |" in out for name in ("shapes", "mnist", "celeba", "stacked_mnist"))  # table 2
    assert out.startswith("# GAN Workbench training speed\n\nMachine class ")  # the machine is named first
    eff = next(line for line in out.splitlines() if line.startswith("| shapes-default | 1 |"))  # table 0
    cells = [c.strip() for c in eff.split("|")]
    assert float(cells[4]) > 10 and float(cells[6]) > 0 and float(cells[7]) > 0  # MFLOP/image, GFLOP/s of both


def test_machine_class_names_the_instruction_sets_and_emulation() -> None:
    probe = machine.MachineClass("CPU", 2, ("avx2",), "AVX2", {}, 50.0, 20.0)
    assert probe.name == "AVX2"
    assert machine.MachineClass("CPU", 2, ("avx2", "avx512f", "avx512_bf16"), "AVX512", {}, 1, 1).name == \
        "AVX-512 + bf16"
    emulated = machine.MachineClass("CPU", 2, ("avx2", "avx512f"), "AVX2", {"ONEDNN_MAX_CPU_ISA": "AVX2"}, 1, 1)
    assert emulated.name == "AVX2 (emulated)" and "ONEDNN_MAX_CPU_ISA=AVX2" in emulated.describe()


def test_quality_steps_clock_takes_the_setup_per_candidate() -> None:
    a = quality.parse_args(["--candidates", "shapes-default", "mnist-default", "--clock", "steps", "--rate", "9", "17",
                            "--setup", "3", "2"])
    assert a.setup == [3.0, 2.0] and a.clock == "steps"
    assert quality.parse_args([]).clock == "wall"  # from Start, setup included, unless told otherwise
    with pytest.raises(SystemExit):
        quality.parse_args(["--clock", "steps", "--rate", "9", "--setup", "1", "2", "3"])


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown where there is no GPU")
def test_speed_bench_on_cuda_without_a_gpu_says_what_to_do() -> None:
    with pytest.raises(SystemExit, match="no CUDA GPU"):
        speed.main(["--device", "cuda"])


def test_cuda_switch_table_logic_runs_on_the_cpu(monkeypatch, capsys) -> None:
    # The table's own logic (one Trainer per switch row, alternating windows, ratios to the first row) checked on the
    # CPU, where the Trainer ignores the CUDA-only switches; the GPU figures themselves need a GPU.
    monkeypatch.setattr(speed, "recipe_config", lambda name, device: tutorials.recipe_config(name, "cpu"))
    threads, benchmark = torch.get_num_threads(), torch.backends.cudnn.benchmark
    try:
        speed.bench_cuda_switches(["mnist-mlp-small"], 0.05, 2, 256, 0.05)
    finally:
        torch.set_num_threads(threads)
        torch.backends.cudnn.benchmark = benchmark
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| mnist-mlp-small |")]
    assert [r.split("|")[2].strip() for r in rows] == [label for label, _, _ in speed.CUDA_SWITCHES]
    assert rows[0].endswith("| 1.00 / **1.00** / 1.00 |")  # the first row is the baseline of every ratio
