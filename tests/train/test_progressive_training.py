"""Progressive resolution in a run: exact resume across the phase switch, full-size samples from a half-phase
checkpoint (sampling, export), and a resume that would add or drop the half-resolution layers refused."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_config

from gan_core.errors import CheckpointError
from gan_core.runs.checkpoints import load_checkpoint, save_checkpoint
from gan_core.runs.generator import generator_from_state
from gan_core.sampling import generate
from gan_core.train.trainer import Trainer

# shapes-default's options around it: AC-GAN head, translation drawing from the run's stream, EMA warm-up ramp.
OPTIONS = {"conditional": True, "class_weight": 1.0, "augment": "translation", "ema": 0.9}


def _config(steps: int, half: int = 5, fade: int = 4):
    return tiny_config("dcgan", steps=steps, size=32, half_res_steps=half, fade_steps=fade, **OPTIONS)


def _weights(tr: Trainer) -> list[torch.Tensor]:
    mods = [tr.G, tr.D, tr.ema.module]
    return [t.detach().clone() for m in mods for t in list(m.parameters()) + list(m.buffers())]


def test_a_run_stopped_in_the_half_phase_resumes_bit_identically(tmp_path) -> None:
    n, total = 3, 12  # stopped at step 3 of 5 half-resolution steps; resumed through the fade-in (4) and beyond
    full = Trainer(_config(total))
    full.run()
    assert full.G.net.alpha == 1.0 and full.ema.module.net.alpha == 1.0

    first = Trainer(_config(n))
    first.run()
    assert first.G.net.alpha == 0.0 and first.D.body.alpha == 0.0
    path = save_checkpoint(first.state_dict(), tmp_path / "ckpt.pt")
    del first
    torch.manual_seed(12345)  # resume must not depend on whatever ran in between
    resumed = Trainer(_config(total))
    resumed.load_state_dict(load_checkpoint(path))
    assert resumed.step_count == n and resumed.G.net.alpha == 0.0
    resumed.run()
    for a, b in zip(_weights(full), _weights(resumed), strict=True):
        assert torch.equal(a, b)


def test_a_half_phase_checkpoint_samples_and_exports_full_size_images(tmp_path) -> None:
    tr = Trainer(_config(4, half=100, fade=0))
    tr.run()
    assert tr.latest_grid.shape == (16, 3, 32, 32)  # the grid: full size, upsampled 2x2 blocks
    assert torch.equal(tr.latest_grid[..., ::2, :], tr.latest_grid[..., 1::2, :])
    state = load_checkpoint(save_checkpoint(tr.state_dict(), tmp_path / "ckpt.pt"))
    lg = generator_from_state(state)
    assert lg.generator.net.alpha == 0.0  # as trained: the untrained full-resolution head stays unused
    expected = generate(tr.sampler, tr.fixed_z, tr.fixed_y)
    assert torch.equal(generate(lg.generator, tr.fixed_z.cpu(), tr.fixed_y), expected)

    pytest.importorskip("onnxruntime")
    import numpy as np
    import onnxruntime

    from gan_core.runs.export import onnx_bytes

    session = onnxruntime.InferenceSession(onnx_bytes(lg), providers=["CPUExecutionProvider"])
    z, y = tr.fixed_z[:4].numpy(), tr.fixed_y[:4].numpy()
    out = session.run(None, {"z": z, "label": y})[0]
    assert out.shape == (4, 3, 32, 32)
    np.testing.assert_allclose(out[:, :, ::2], out[:, :, 1::2], atol=0)  # the export keeps the half phase
    with torch.no_grad():
        np.testing.assert_allclose(out, lg.generator(torch.from_numpy(z), torch.from_numpy(y)).numpy(), atol=1e-5)


def test_a_resume_that_adds_or_drops_the_half_resolution_layers_is_refused(tmp_path) -> None:
    tr = Trainer(_config(2))
    tr.run()
    state = load_checkpoint(save_checkpoint(tr.state_dict(), tmp_path / "ckpt.pt"))
    plain = Trainer(tiny_config("dcgan", steps=4, size=32, **OPTIONS))
    with pytest.raises(CheckpointError, match="half-resolution steps 5 vs 0"):
        plain.load_state_dict(state)
