"""The run folder as a contract: writer, checkpoints, liveness, watcher, metrics log, TensorBoard, export."""
