"""The stages of a run, each a module that derives its folder from the config and reuses or resumes it.

* ``transcripts``: debates per (protocol, debate seed) on the shard engine (runner: ``debate_shards``);
* ``prompted``: a prompted (not fine-tuned) judge's verdicts, on the same engine;
* ``trained``: weak floor, ceiling, weak judges (with transcripts) and strong students, and their
  predictions (``TrainedModel``).
"""

from labeling.stages.prompted import run_prompted_judges
from labeling.stages.trained import (
    TrainedModel,
    View,
    plain_view,
    predict_view,
    train_ceiling,
    train_judge,
    train_student,
    train_weak_floor,
    training_machine,
    transcript_view,
    weak_picks,
)
from labeling.stages.transcripts import (
    TranscriptSet,
    debate_engine_dtype,
    read_transcripts,
    run_debates,
    swappable,
    transcript_stage,
)

__all__ = [
    "TrainedModel",
    "TranscriptSet",
    "View",
    "debate_engine_dtype",
    "plain_view",
    "predict_view",
    "read_transcripts",
    "run_debates",
    "run_prompted_judges",
    "swappable",
    "train_ceiling",
    "train_judge",
    "train_student",
    "train_weak_floor",
    "training_machine",
    "transcript_stage",
    "transcript_view",
    "weak_picks",
]
