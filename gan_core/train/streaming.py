"""Sets too large for the device: the size limit, and batches streamed from host memory by DataLoader workers."""

from __future__ import annotations

import os
from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ..errors import ConfigError

LIMIT_ENV = "GAN_WORKBENCH_DEVICE_DATA_MB"
# A set may take this share of a GPU's memory; the models, their activations and the optimizers need the rest.
GPU_SHARE = 0.25
WORKERS = 2  # DataLoader worker processes per training process: gathering a uint8 batch is cheap

Rows = tuple[torch.Tensor, torch.Tensor | None]  # B x C x H x W uint8 images, B labels or None


def device_limit(device: torch.device) -> int | None:
    """The largest set (bytes) kept whole on `device`: $GAN_WORKBENCH_DEVICE_DATA_MB when set, else GPU_SHARE of a
    CUDA GPU's memory; None (no limit) elsewhere, where the set already lives in the memory the device uses."""
    raw = os.environ.get(LIMIT_ENV, "").strip()
    if raw:
        try:
            return int(float(raw) * 2**20)
        except ValueError:
            raise ConfigError(f"${LIMIT_ENV} must be a number of MiB, got {raw!r}.") from None
    if device.type == "cuda":
        return int(GPU_SHARE * torch.cuda.get_device_properties(device).total_memory)
    return None


class _Rows(Dataset):
    """Whole batches by index list (DataLoader calls __getitems__): one gather per batch, not one per image."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor | None) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def __getitem__(self, i: int) -> Rows:
        return self.__getitems__([i])

    def __getitems__(self, idx: list[int]) -> Rows:
        index = torch.tensor(idx)
        return self.images.index_select(0, index), (None if self.labels is None else self.labels[index])


class _RandomBatches(Sampler[list[int]]):
    """Endless batches of n indices drawn uniformly with replacement, as the resident set draws them."""

    def __init__(self, size: int, n: int, seed: int) -> None:
        self.size, self.n, self.seed = size, n, seed

    def __iter__(self) -> Iterator[list[int]]:
        g = torch.Generator().manual_seed(self.seed)
        while True:
            yield torch.randint(self.size, (self.n,), generator=g).tolist()


def _as_is(batch: Rows) -> Rows:
    return batch


class Stream:
    """Batches of a host-memory uint8 set, gathered by WORKERS DataLoader processes and, for CUDA, pinned so the
    copy to the device runs asynchronously. The index stream is seeded once from the caller's random stream."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor | None, device: torch.device,
                 rng: torch.Generator) -> None:
        self.dataset = _Rows(images, labels)
        self.device, self.rng = device, rng
        self.n = 0
        self._it: Iterator[Rows] | None = None

    def next(self, n: int) -> Rows:
        """n random images (uint8 n x C x H x W on the device) and their labels (or None)."""
        if self._it is None or n != self.n:  # the first batch, or a new batch size (out-of-memory fallback)
            seed = int(torch.randint(2**62, (1,), generator=self.rng, device=self.rng.device))
            loader = DataLoader(self.dataset, batch_sampler=_RandomBatches(len(self.dataset), n, seed),
                                num_workers=WORKERS, collate_fn=_as_is, pin_memory=self.device.type == "cuda",
                                persistent_workers=True, prefetch_factor=4)
            self._it, self.n = iter(loader), n
        images, labels = next(self._it)
        return (images.to(self.device, non_blocking=True),
                None if labels is None else labels.to(self.device, non_blocking=True))
