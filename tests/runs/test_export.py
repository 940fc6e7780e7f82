"""ONNX export: onnxruntime matches PyTorch (each architecture, any batch), metadata, the CLI command and errors."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import make_run, tiny_config
from torch import nn

from gan_core.cli.commands import main
from gan_core.models import build_models
from gan_core.models.fused import UpsampledConv2d, fuse_upsample_conv
from gan_core.runs import export
from gan_core.runs.checkpoints import find_checkpoints, load_checkpoint, save_checkpoint
from gan_core.runs.generator import LoadedGenerator, generator_from_state, load_generator

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

TOLERANCE = 1e-4  # max abs difference allowed between onnxruntime and PyTorch, on outputs in [-1, 1]
SHAPE = (3, 16, 16)
CLASSES = 3


def loaded(arch: str, conditional: bool = False, groups: int = 0) -> LoadedGenerator:
    """A generator as load_generator returns it (fused, eval), with weights and BatchNorm statistics drawn so that its
    outputs spread over [-1, 1]: freshly initialised DCGAN weights give outputs near 0, where any export looks exact.
    groups: a cluster-conditioned G (its latent picks a cluster for each of this many groups, by a random prior)."""
    cfg = tiny_config(arch)
    cfg.model.conditional, cfg.model.cluster_groups = conditional, groups
    torch.manual_seed(0)
    g, _ = build_models(cfg.model, SHAPE, CLASSES if conditional else 0)
    if groups:
        g.set_prior(torch.softmax(3 * torch.randn(groups, 40), 1))  # uneven shares over 40 of the clusters
    fuse_upsample_conv(g)
    with torch.no_grad():
        for m in g.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.Embedding)):
                m.reset_parameters()  # PyTorch's default scale, not DCGAN's N(0, 0.02)
                m.weight.mul_(2.0)
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.2)
                m.reset_running_stats()
                m.momentum = None  # running statistics = the average over the calibration batch below
        g.train()(*((torch.randn(256, g.latent_dim),) + ((torch.arange(256) % CLASSES,) if conditional else ())))
    g.eval().requires_grad_(False)
    return LoadedGenerator(g, cfg, 7, ["triangle", "square", "circle"] if conditional else [], {})


def session(lg: LoadedGenerator) -> ort.InferenceSession:
    return ort.InferenceSession(export.onnx_bytes(lg, "test-run"), providers=["CPUExecutionProvider"])


def run_both(sess: ort.InferenceSession, lg: LoadedGenerator, n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(onnxruntime output, PyTorch output) for the same n noise vectors (and labels)."""
    z = torch.randn(n, lg.generator.latent_dim, generator=torch.Generator().manual_seed(seed))
    labels = torch.arange(n) % CLASSES if lg.generator.num_classes else None
    feed = {export.INPUT_Z: z.numpy()}
    if labels is not None:
        feed[export.INPUT_LABEL] = labels.numpy()
    with torch.no_grad():
        expected = lg.generator(z, labels).numpy()
    return sess.run([export.OUTPUT], feed)[0], expected


@pytest.mark.parametrize("arch,conditional,groups", [("dcgan", False, 0), ("upsample-conv", False, 0),
                                                     ("mlp", False, 0), ("dcgan", True, 0), ("dcgan", False, 3)])
def test_onnxruntime_matches_pytorch_at_any_batch_size(arch: str, conditional: bool, groups: int) -> None:
    lg = loaded(arch, conditional, groups)
    sess = session(lg)
    for n in (1, 5):  # neither is the batch of 2 traced at export: the batch axis is dynamic
        got, expected = run_both(sess, lg, n)
        assert got.shape == expected.shape == (n, *SHAPE) and got.dtype == np.float32
        assert expected.std() > 0.2 and np.abs(expected).max() > 0.5  # a spread output: the comparison means something
        assert np.abs(got - expected).max() <= TOLERANCE


def test_the_fused_upsampling_convolution_is_what_gets_exported() -> None:
    lg = loaded("upsample-conv")
    assert sum(isinstance(m, UpsampledConv2d) for m in lg.generator.modules()) == 2
    ops = {node.op_type for node in onnx.load_from_string(export.onnx_bytes(lg)).graph.node}
    assert "ConvTranspose" in ops and "Resize" not in ops  # the 4x4 stride-2 form, not upsample + conv


def test_inputs_outputs_and_metadata_describe_a_conditional_generator() -> None:
    sess = session(loaded("dcgan", conditional=True))
    inputs = {i.name: (i.type, i.shape) for i in sess.get_inputs()}
    assert inputs == {"z": ("tensor(float)", ["N", 16]), "label": ("tensor(int64)", ["N"])}
    assert [(o.name, o.type, o.shape) for o in sess.get_outputs()] == [("images", "tensor(float)", ["N", 3, 16, 16])]
    meta = sess.get_modelmeta().custom_metadata_map
    assert meta["input.z"] == "N x 16 float32, standard normal noise N(0, 1)"
    assert meta["input.label"] == "N int64 class index in [0, 3)"
    assert meta["output.images"].startswith("N x 3 x 16 x 16 float32 in [-1, 1]")
    assert json.loads(meta["class_names"]) == ["triangle", "square", "circle"]
    assert meta["run"] == "test-run" and meta["step"] == "7" and meta["arch"] == "dcgan" and meta["weights"] == "G"


def test_an_unconditional_generator_has_one_input_and_no_classes() -> None:
    sess = session(loaded("mlp"))
    assert [i.name for i in sess.get_inputs()] == ["z"]
    assert "class_names" not in sess.get_modelmeta().custom_metadata_map


def test_cli_exports_the_ema_generator_of_a_run(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    trained = make_run("ema-run", steps=20, arch="dcgan", ema=0.5)
    state = load_checkpoint(find_checkpoints(trained)[0])
    assert state["EMA"] is not None
    # Twenty steps leave EMA and G nearly equal: scale the EMA copy's weights so that the two are told apart.
    state["EMA"] = {k: v * 3 if k.endswith("weight") else v for k, v in state["EMA"].items()}
    run = tmp_path / "ema-run"
    save_checkpoint(state, run / "ckpt-0000020.pt")
    out = tmp_path / "g.onnx"
    assert main(["export", "--checkpoint", str(run), "--format", "onnx", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    sess = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    lg = load_generator(run / "ckpt-0000020.pt")
    got, ema = run_both(sess, lg, 6)
    assert np.abs(got - ema).max() <= TOLERANCE
    raw = generator_from_state({**lg.state, "EMA": None})  # the same checkpoint's G, not its EMA copy
    _, g_out = run_both(sess, raw, 6)
    assert np.abs(g_out - ema).max() > 100 * TOLERANCE  # so the export is the EMA's, and not G's by chance
    assert sess.get_modelmeta().custom_metadata_map["weights"] == "EMA of G"


@pytest.mark.parametrize("argv,needle", [
    (["--out", "g.txt"], "error: --out must end in .onnx, got 'g.txt'."),
    (["--format", "tflite", "--out", "g.tflite"],
     "error: Unknown export format 'tflite': choose one of onnx, generator."),
])
def test_cli_export_errors_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture, argv: list[str],
                                                needle: str) -> None:
    run = make_run("err-run", steps=2)
    assert main(["export", "--checkpoint", str(run), *argv]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [needle]


def test_without_onnx_the_cli_and_the_engine_say_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture) -> None:
    run = make_run("no-onnx", steps=2)
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    assert export.onnx_missing() == ("ONNX export needs the onnx package, which is not installed: pip install onnx "
                                     "onnxruntime (or pip install -e '.[onnx]').")
    assert main(["export", "--checkpoint", str(run), "--out", str(tmp_path / "g.onnx")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {export.onnx_missing()}"
    assert not (tmp_path / "g.onnx").exists()
    with pytest.raises(export.ExportError, match="pip install onnx"):
        export.onnx_bytes(loaded("mlp"))


def test_tolerance_is_met_with_room_to_spare() -> None:
    """The figure the README reports: the largest difference over the architectures, far below the tolerance."""
    worst = max(float(np.abs(np.subtract(*run_both(session(lg), lg, 16))).max())
                for lg in (loaded("dcgan"), loaded("upsample-conv"), loaded("mlp"), loaded("dcgan", True)))
    assert math.isfinite(worst) and worst < TOLERANCE / 10


def test_a_generator_export_samples_as_its_checkpoint_and_cannot_be_resumed(tmp_path: Path) -> None:
    from gan_core.errors import CheckpointError
    from gan_core.train.trainer import Trainer

    run = make_run("gen-export", steps=6, conditional=True, ema=0.9)
    out = tmp_path / "example" / "generator.pt"
    assert main(["export", "--checkpoint", str(run), "--format", "generator", "--out", str(out)]) == 0
    full, small = load_checkpoint(find_checkpoints(run)[0]), load_checkpoint(out)  # weights_only=True
    assert small["D"] == {} and "opt_G" not in small and out.stat().st_size < find_checkpoints(run)[0].stat().st_size
    z = torch.randn(5, 16, generator=torch.Generator().manual_seed(0))
    a, b = generator_from_state(full), generator_from_state(small)  # the EMA weights, in both
    assert b.step == 6 and b.class_names == a.class_names and torch.equal(a.images(z), b.images(z))
    with pytest.raises(CheckpointError, match="only a generator"):
        Trainer(tiny_config(steps=8, conditional=True, ema=0.9)).load_state_dict(small)
    assert main(["export", "--checkpoint", str(run), "--format", "generator", "--out", str(tmp_path / "g.onnx")]) == 2


def test_the_shipped_example_is_small_safe_and_draws_shapes() -> None:
    path = Path(__file__).resolve().parents[2] / "examples" / "shapes-example" / "generator.pt"
    assert path.stat().st_size < 5 * 2**20  # shipped in the repository
    lg = load_generator(path)  # weights_only=True, as every checkpoint
    assert lg.config.preset == "shapes-default" and lg.class_names == ["triangle", "square", "circle"]
    images = lg.images(torch.randn(6, lg.generator.latent_dim, generator=torch.Generator().manual_seed(0)))
    assert images.shape == (6, 3, 32, 32) and images.dtype == torch.uint8 and images.float().std() > 10


def test_the_documented_onnx_snippet_runs_as_written_on_a_conditional_model(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue #20, item 12: the snippet failed on the default (conditional) model: "Required inputs (['label'])"."""
    import re

    doc = (Path(__file__).resolve().parents[2] / "docs" / "export.md").read_text()
    snippet = re.search(r"```python\n(.*?)```", doc, re.S).group(1)
    run = make_run("conditional", steps=6, conditional=True)  # a class-conditional model, as the defaults are
    monkeypatch.chdir(tmp_path)
    assert main(["export", "--checkpoint", str(run), "--format", "onnx", "--out", "generator.onnx"]) == 0
    exec(compile(snippet, "docs/export.md", "exec"), {})  # noqa: S102 - the documentation's own code, as written
    assert (tmp_path / "onnx_sample.png").is_file()
