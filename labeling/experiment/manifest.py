"""What ``manifest.json`` records beside the table: transcript statistics, the machine, the stage folders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from labeling.config import ExperimentConfig
from labeling.exec.hardware import cpu_model_name
from labeling.exec.threads import available_cores
from labeling.store import COMPLETE
from labeling.stages.trained import training_machine
from labeling.stages.transcripts import debate_engine_dtype


def transcript_stats(transcripts: dict) -> dict:
    """Token counts, failures and timings of the transcripts behind this run."""
    stats = {}
    for (protocol, seed), read in transcripts.items():
        done = json.loads((read.stage.path / COMPLETE).read_text()) if read.stage.complete else {}
        tokens = read.completion_tokens
        stats[f"{protocol}/seed{seed}"] = {
            "stage": str(read.stage.path),
            "items": len(read.texts),
            "failed": len(read.failed),
            "turns": int(len(tokens)),
            "mean_completion_tokens_per_turn": float(np.mean(tokens)) if tokens else 0.0,
            "quotes_by_side": read.quote_stats,
            "finished_at": done.get("finished_at"),
        }
    return stats


def machine_summary(cfg: ExperimentConfig, debated: bool) -> dict:
    """Where the numbers came from: the CPU, its cores, and the precision and threads chosen for it."""
    precision, plan = training_machine(cfg)
    return {
        "cpu": cpu_model_name(),
        "available_cores": available_cores(),
        "training": {"dtype": precision.dtype, "dtype_reason": precision.reason,
                     "workers": plan.workers, "threads": plan.threads, "threads_reason": plan.reason},
        "debate_engine_dtype": debate_engine_dtype(cfg) if debated else None,
    }


def stage_paths(outcomes: list) -> dict:
    """Per training seed, the stage folders behind every model of the table."""
    return {
        f"seed{o.seed}": {
            "weak_floor": str(o.floor.stage.path),
            "ceiling": str(o.ceiling.stage.path),
            "judges": {f"{src.protocol}/{src.ensemble}": [str(j.stage.path) for j in js] for src, js in o.judges.items()},
            "students": {
                f"{src.protocol}/{src.ensemble}{'/bootstrap' if src.bootstrapped else ''}/{loss}": str(st.stage.path)
                for (src, loss), st in o.students.items()
            },
            "bootstrap": {f"{src.protocol}/{src.ensemble}": [[str(m.stage.path) for m in folds] for folds in links]
                          for src, links in o.links.items()},
        }
        for o in outcomes
    }


def stage_folders(manifest: dict) -> list[Path]:
    """Every model folder ``stage_paths`` recorded in a manifest (its ``stages``), each once, in order."""
    found: dict[str, Path] = {}

    def walk(value: object) -> None:
        if isinstance(value, str):
            found.setdefault(value, Path(value))
        elif isinstance(value, (dict, list)):
            for inner in value.values() if isinstance(value, dict) else value:
                walk(inner)

    walk(manifest.get("stages", {}))
    return list(found.values())
