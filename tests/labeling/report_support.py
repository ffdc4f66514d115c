"""What the report tests share: model text that must stay text, and the small hidden-passage run's config."""

from __future__ import annotations

from pathlib import Path

from labeling.config import ExperimentConfig, load_config

REPO = Path(__file__).resolve().parents[2]
# Model text a report must show as text: markup, a script, an event handler, a javascript: link.
HOSTILE = ('<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
           '<a href="javascript:window.__pwned = 3">click</a> "quoted" & \'single\'')
UNVERIFIED = "<quote>words nobody ever wrote zqx</quote>"


def report_config(tmp_path: Path, checkpoint: Path, shared_data: Path, *extra: str) -> ExperimentConfig:
    """SciQ with hidden passages, 12 items per split, tiny models, one epoch, two training seeds."""
    overrides = [
        f"output_dir={tmp_path / 'runs'}", f"data.source={shared_data / 'sciq'}", "data.require_evidence=true",
        "data.weak_train=12", "data.strong_train=12", "data.test=12",
        f"models.weak.path={checkpoint}", "models.weak.num_hidden_layers=1",
        f"models.strong.path={checkpoint}", f"models.debater.path={checkpoint}",
        "debate.shard_size=10", "debate.quote_span_words=6", "training.seeds=[0, 1]",
        "training.weak.epochs=1", "training.judge.epochs=1", "training.strong.epochs=1", "eval.n_boot=200", *extra,
    ]
    return load_config(REPO / "configs" / "sciq_cpu.yaml", overrides)
