"""The training's inputs on the device: real batches drawn by index from the uint8 set, and latent noise."""

from __future__ import annotations

import torch

from .data import ImageData, to_float
from .errors import DataError
from .runtime import Runtime


class Batches:
    """Real batches and noise, both drawn from `rng` (the run's own random stream, saved with every checkpoint).

    The whole set lives on the device as uint8 (4x smaller than float), so a batch is an index draw, not a copy
    from the host. Labels are drawn only for conditional models. Under torchrun each rank keeps its own `shard` of
    the images (distributed.World.shard) and draws from it with its own rng.
    """

    def __init__(self, data: ImageData, runtime: Runtime, rng: torch.Generator, latent_dim: int,
                 conditional: bool, shard: slice = slice(None)) -> None:
        self.runtime = runtime
        self.device = runtime.device
        self.rng = rng
        self.latent_dim = latent_dim
        self.images = data.images[shard].to(self.device)  # N x C x H x W uint8 (N: the shard's size)
        if self.images.shape[0] == 0:
            raise DataError(f"The data set has {len(data)} images, fewer than the processes training on it: "
                            "start fewer processes, or use a larger set.")
        self.labels = data.labels[shard].to(self.device) if conditional and data.labels is not None else None  # N
        self.num_classes = data.num_classes if self.labels is not None else 0

    def real(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """n random training images (float n x C x H x W in [-1, 1], the run's memory format) and their labels."""
        idx = torch.randint(self.images.shape[0], (n,), device=self.device, generator=self.rng)
        images = to_float(self.images.index_select(0, idx))  # n x C x H x W; index_select: faster than [idx]
        return self.runtime.batch(images), (None if self.labels is None else self.labels[idx])

    def noise(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """n latents (n x latent_dim, standard normal) and, for conditional models, n uniform class labels."""
        z = torch.randn(n, self.latent_dim, device=self.device, generator=self.rng)
        y = (torch.randint(self.num_classes, (n,), device=self.device, generator=self.rng)
             if self.labels is not None else None)
        return z, y
