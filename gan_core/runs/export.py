"""Export the sampling generator of a checkpoint to ONNX: EMA weights, eval mode, dynamic batch, described inputs."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import torch

from .. import __version__
from ..errors import UserError
from ..fileio import write_atomic
from .generator import LoadedGenerator, load_generator

FORMATS = ("onnx",)
OPSET = 17  # onnxruntime 1.14+ runs it; einsum, conv_transpose and embedding gather are all in it
INPUT_Z, INPUT_LABEL, OUTPUT = "z", "label", "images"
BATCH_AXIS = "N"
INSTALL_HINT = "pip install onnx onnxruntime (or pip install -e '.[onnx]')"


class ExportError(UserError):
    """An export that cannot be made: the onnx package is missing, or the output name is wrong."""


def onnx_missing() -> str | None:
    """Why ONNX export is unavailable here (one sentence), or None when the onnx package imports."""
    try:
        import onnx  # noqa: F401
    except ImportError:
        return f"ONNX export needs the onnx package, which is not installed: {INSTALL_HINT}."
    return None


def onnx_metadata(lg: LoadedGenerator, run_name: str = "") -> dict[str, str]:
    """The model's metadata_props: what each input and the output hold, their shapes and ranges, class names."""
    g = lg.generator
    c, h, w = g.image_shape
    meta = {
        "exported_by": f"GAN Workbench {__version__}",
        "run": run_name,
        "step": str(lg.step),
        "dataset": lg.config.data.name,
        "arch": lg.config.model.arch,
        # generator_from_state samples from the EMA copy whenever the run kept one (train.ema > 0)
        "weights": "EMA of G" if lg.config.train.ema > 0 else "G",
        "latent_dim": str(g.latent_dim),
        "image_shape": json.dumps([c, h, w]),
        f"input.{INPUT_Z}": f"{BATCH_AXIS} x {g.latent_dim} float32, standard normal noise N(0, 1)",
        f"output.{OUTPUT}": f"{BATCH_AXIS} x {c} x {h} x {w} float32 in [-1, 1], channels "
                            f"{'grey' if c == 1 else 'RGB'}; to uint8: round((x + 1) * 127.5)",
    }
    if g.num_classes:
        names = lg.class_names if len(lg.class_names) == g.num_classes else [f"class {i}"
                                                                               for i in range(g.num_classes)]
        meta["num_classes"] = str(g.num_classes)
        meta["class_names"] = json.dumps(names)
        meta[f"input.{INPUT_LABEL}"] = f"{BATCH_AXIS} int64 class index in [0, {g.num_classes})"
    return meta


def onnx_bytes(lg: LoadedGenerator, run_name: str = "") -> bytes:
    """The generator as a serialized ONNX model: inputs z (and label when conditional), output images, batch dynamic."""
    missing = onnx_missing()
    if missing:
        raise ExportError(missing)
    import onnx

    g = lg.generator.cpu().eval()
    z = torch.zeros(2, g.latent_dim)  # batch 2: a batch of 1 could be specialised away by the tracer
    args: tuple[torch.Tensor, ...] = (z,)
    names = [INPUT_Z]
    if g.num_classes:
        args, names = (z, torch.zeros(2, dtype=torch.long)), [INPUT_Z, INPUT_LABEL]
    buf = io.BytesIO()
    # The TorchScript exporter (dynamo=False): torch 2.14's default dynamo exporter needs onnxscript, takes seconds
    # per model, and, tracing with fake tensors, left one in models/fused.py's cached taps (broken sampling after).
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # the shape asserts in forward: constant per model
        warnings.simplefilter("ignore", DeprecationWarning)  # "legacy exporter": chosen above on purpose
        torch.onnx.export(g, args, buf, dynamo=False, input_names=names, output_names=[OUTPUT],
                          dynamic_axes={n: {0: BATCH_AXIS} for n in [*names, OUTPUT]}, opset_version=OPSET)
    model = onnx.load_from_string(buf.getvalue())
    onnx.helper.set_model_props(model, onnx_metadata(lg, run_name))
    model.doc_string = "GAN Workbench generator: images = G(z[, label]); see metadata_props for shapes and ranges."
    onnx.checker.check_model(model)
    return model.SerializeToString()


def export_checkpoint(checkpoint: str | Path, out: str | Path, fmt: str = "onnx") -> Path:
    """Write the sampling generator of a checkpoint file (loaded weights_only) to out; returns out."""
    out = Path(out)
    if fmt not in FORMATS:
        raise ExportError(f"Unknown export format '{fmt}': choose one of {', '.join(FORMATS)}.")
    if out.suffix.lower() != f".{fmt}":
        raise ExportError(f"--out must end in .{fmt}, got '{out.name}'.")
    missing = onnx_missing()
    if missing:  # before loading anything: the user's fix is an install
        raise ExportError(missing)
    lg = load_generator(checkpoint)
    return write_atomic(out, onnx_bytes(lg, Path(checkpoint).parent.name))

