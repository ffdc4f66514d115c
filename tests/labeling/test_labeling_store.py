"""labeling.store: settings added after folders were named stay out of a stage key at their default."""

from __future__ import annotations

from labeling.store import stage_dir, without_later_defaults


def test_a_later_setting_is_dropped_only_at_its_listed_default() -> None:
    later = {"quote_prefill": False, "passage_to_debaters": True, "absent": 1}
    values = {"seed": 0, "quote_prefill": False, "passage_to_debaters": False, "word_limit": 24}
    kept = without_later_defaults(values, later)
    assert kept == {"seed": 0, "passage_to_debaters": False, "word_limit": 24}  # absent keys are not added
    assert without_later_defaults({**values, "quote_prefill": True}, later)["quote_prefill"] is True
    assert values["quote_prefill"] is False  # the input is left as it was
    assert without_later_defaults(values, {}) == values


def test_a_setting_at_its_default_keeps_the_old_folder_name(tmp_path) -> None:
    old = {"protocol": "debate", "seed": 0}
    later = {"quote_prefill": False}
    assert stage_dir(tmp_path, "t", without_later_defaults({**old, "quote_prefill": False}, later)).path \
        == stage_dir(tmp_path, "t", old).path
    assert stage_dir(tmp_path, "t", without_later_defaults({**old, "quote_prefill": True}, later)).path \
        != stage_dir(tmp_path, "t", old).path
