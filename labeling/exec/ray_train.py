"""One model trained data-parallel over several Ray workers, through Ray Train's ``TorchTrainer``.

Ray Train starts the workers (each with its CPUs, or a GPU), sets up the torch process group
(gloo on CPU, NCCL on GPUs) and runs the same training function in each; the training library
notices the group and shares every micro-batch between the workers (``training.distributed``:
DDP, batch statistics gathered). The first worker writes the checkpoint to ``out_dir``, which must
be on storage every node sees (it is, on one machine). Ray must already be running (``ray.init``
or a cluster joined by the caller), inside a private network namespace where the machine needs one.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

from training import ModelSpec, TrainConfig, train_classifier

log = logging.getLogger(__name__)


def _worker_loop(config: dict[str, Any]) -> None:
    """What each Ray Train worker runs: the ordinary training function, inside the process group."""
    train_classifier(ModelSpec(**config["spec"]), config["texts"], config["labels"], TrainConfig(**config["cfg"]),
                     Path(config["out_dir"]), desc=config["desc"])


def train_data_parallel(
    spec: ModelSpec,
    texts: Sequence[str],
    soft_labels: Sequence[float],
    cfg: TrainConfig,
    out_dir: Path,
    *,
    workers: int,
    use_gpu: bool = False,
    cpus_per_worker: float = 1.0,
    desc: str = "train",
) -> Path:
    """Train ``spec`` on ``(texts, soft_labels)`` with ``workers`` data-parallel processes; save to ``out_dir``.

    The global batch is ``cfg.batch_size`` (times ``grad_accum``), shared between the workers, so the
    result matches one process with the same settings up to floating-point summation order.
    """
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    config = {"spec": asdict(spec), "texts": list(texts), "labels": [float(x) for x in soft_labels],
              "cfg": asdict(cfg), "out_dir": str(out_dir), "desc": desc}
    with tempfile.TemporaryDirectory(prefix="w2s-ray-train-") as storage:
        trainer = TorchTrainer(
            _worker_loop,
            train_loop_config=config,
            torch_config=TorchConfig(backend="nccl" if use_gpu else "gloo"),
            scaling_config=ScalingConfig(num_workers=workers, use_gpu=use_gpu,
                                         resources_per_worker={"CPU": cpus_per_worker}),
            run_config=RunConfig(name=Path(out_dir).name or "train", storage_path=storage),
        )
        trainer.fit()
    if not (Path(out_dir) / "config.json").is_file():
        raise RuntimeError(f"data-parallel training finished without a checkpoint in {out_dir}")
    log.info("%s: trained with %d data-parallel workers, saved to %s", desc, workers, out_dir)
    return Path(out_dir)


def train_model(spec: ModelSpec, texts: Sequence[str], soft_labels: Sequence[float], cfg: TrainConfig, out_dir: Path,
                *, desc: str, use_gpu: bool = False, cpus_per_worker: float = 1.0) -> Path:
    """Train in this process, or over ``cfg.data_parallel`` Ray Train workers (each with its CPUs, or a GPU)."""
    if cfg.data_parallel == 1:
        return train_classifier(spec, texts, soft_labels, cfg, out_dir, desc=desc)
    return train_data_parallel(spec, texts, soft_labels, cfg, out_dir, workers=cfg.data_parallel, use_gpu=use_gpu,
                               cpus_per_worker=cpus_per_worker, desc=desc)
