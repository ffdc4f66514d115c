"""Label sources: the ways a run makes weak labels (a protocol and how its judges combine), and their names.

``label_sources`` lists those a config asks for; ``source_names`` is how settings (a loss's ``sources``,
``training.bootstrap_sources``) name one. The config checks those names against the run's sources.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def source_names(protocol: str, ensemble: str) -> set[str]:
    """How settings name a label source: ``protocol/ensemble``, and ``protocol`` alone for its single judge."""
    return {f"{protocol}/{ensemble}"} | ({protocol} if ensemble == "single" else set())


PROMPTED = "prompted"  # the label source made by the prompted (not fine-tuned) judge


@dataclass(frozen=True)
class LabelSource:
    """One way of making weak labels: a protocol and how its judges are combined."""

    protocol: str
    ensemble: str  # "single" | "debate_ensemble" | "finetune_ensemble" | "prompted" (the prompted judge)
    bootstrapped: bool = False  # these labels, carried through the bootstrapping chain (training.bootstrap)

    @property
    def name(self) -> str:
        """The source in stage folder names, e.g. ``debate-debate_ensemble`` or ``none-bootstrap``."""
        name = self.protocol if self.ensemble == "single" else f"{self.protocol}-{self.ensemble}"
        return f"{name}-bootstrap" if self.bootstrapped else name


def label_sources(cfg: Any) -> list[LabelSource]:
    """The label sources an ``ExperimentConfig`` asks for; ensembles of one member collapse into ``single``.

    ``cfg`` is typed loosely because the config module imports this one.
    """
    k = len(cfg.debate.seeds)
    sources = []
    for protocol in cfg.debate.protocols:
        wanted = ["single"] if protocol == "none" else []
        for ensemble in cfg.training.ensembles:
            if k == 1 or ensemble == "single" or not cfg.debate.has_ensembles(protocol):
                ensemble = "single"
            elif protocol == "none" and ensemble == "debate_ensemble":
                continue  # no transcripts, nothing to ensemble over
            if ensemble not in wanted:
                wanted.append(ensemble)
        if cfg.prompted_judge is not None:
            wanted.append(PROMPTED)
        sources.extend(LabelSource(protocol, e) for e in wanted)
    return sources
