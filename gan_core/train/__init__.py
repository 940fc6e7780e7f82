"""Training: the loop, the D and G phases, losses, augmentation, batches, runtime, EMA, callbacks, torchrun."""
