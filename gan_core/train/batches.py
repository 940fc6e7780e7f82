"""The training's inputs on the device: real batches drawn by index from the uint8 set, and latent noise."""

from __future__ import annotations

import torch

from ..data import ImageData, to_float
from ..errors import DataError
from .runtime import Runtime
from .streaming import Stream, device_limit


class Batches:
    """Real batches and noise, both drawn from `rng` (the run's own random stream, saved with every checkpoint).

    The whole set lives on the device as uint8 (4x smaller than float), so a batch is an index draw, not a copy
    from the host; a set larger than streaming.device_limit stays in host memory and its batches stream in
    (streaming.Stream). Labels are drawn only for conditional models. Under torchrun each rank keeps its own `shard`
    of the images (distributed.World.shard) and draws from it with its own rng.
    """

    def __init__(self, data: ImageData, runtime: Runtime, rng: torch.Generator, latent_dim: int,
                 conditional: bool, shard: slice = slice(None), clusters: torch.Tensor | None = None) -> None:
        """clusters: each image's clusters (int64 N x groups) for a cluster-conditioned run, drawn with the images
        in place of class labels."""
        self.runtime = runtime
        self.device = runtime.device
        self.rng = rng
        self.latent_dim = latent_dim
        images = data.images[shard]  # N x C x H x W uint8 (N: the shard's size), in host memory
        labels = data.labels[shard] if conditional and data.labels is not None else None  # N
        if clusters is not None:
            labels = clusters[shard]  # N x groups
        if images.shape[0] == 0:
            raise DataError(f"The data set has {len(data)} images, fewer than the processes training on it: "
                            "start fewer processes, or use a larger set.")
        limit = device_limit(self.device)
        self.stream: Stream | None = None
        self.notice: str | None = None  # what the CLI says about where the set lives, when it is not the device
        if limit is not None and images.nelement() > limit:
            self.stream = Stream(images, labels, self.device, rng)
            self.notice = (f"the data set ({images.nelement() / 2**20:,.0f} MiB) is larger than the device's limit "
                           f"({limit / 2**20:,.0f} MiB): its batches stream from host memory.")
            self.images, self.labels = images, labels
        else:
            self.images = images.to(self.device)
            self.labels = None if labels is None else labels.to(self.device)
        self.num_classes = data.num_classes if self.labels is not None and clusters is None else 0

    def real(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """n random training images (float n x C x H x W in [-1, 1], the run's memory format) and their labels."""
        if self.stream is not None:
            images, labels = self.stream.next(n)  # uint8 n x C x H x W, n
            return self.runtime.batch(to_float(images)), labels
        idx = torch.randint(self.images.shape[0], (n,), device=self.device, generator=self.rng)
        images = to_float(self.images.index_select(0, idx))  # n x C x H x W; index_select: faster than [idx]
        return self.runtime.batch(images), (None if self.labels is None else self.labels[idx])

    def noise(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """n latents (n x latent_dim, standard normal) and, for conditional models, n uniform class labels."""
        z = torch.randn(n, self.latent_dim, device=self.device, generator=self.rng)
        y = torch.randint(self.num_classes, (n,), device=self.device, generator=self.rng) if self.num_classes else None
        return z, y
