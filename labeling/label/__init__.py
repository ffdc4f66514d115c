"""``w2s label``: batch debate transcripts over K seeds, then a trained or prompted judge's soft labels."""

from labeling.label.job import add_commands, run_label_job

__all__ = ["add_commands", "run_label_job"]
