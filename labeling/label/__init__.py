"""``w2s label``: batch debate transcripts over K seeds, then a trained or prompted judge's soft labels.

``LabelJobConfig`` (``settings``) is the command's configuration; ``run_label_job(cfg)`` (``job``) runs it.
"""

from labeling.label.job import add_commands, run_label_job
from labeling.label.settings import LABEL_FLAGS, LabelJobConfig

__all__ = ["LABEL_FLAGS", "LabelJobConfig", "add_commands", "run_label_job"]
