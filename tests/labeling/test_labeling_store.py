"""labeling.store: settings added after folders were named stay out of a stage key at their default; file modes."""

from __future__ import annotations

import pytest

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


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_atomic_writes_respect_the_umask(tmp_path, umask: int, mode: int) -> None:
    """Artifacts get the mode a plain file would (mkstemp alone made every one 0600)."""
    import os

    from eval.atomic import default_file_mode, write_bytes_atomic
    from labeling.store import atomic_write_parquet, atomic_write_text

    old = os.umask(umask)
    default_file_mode.cache_clear()
    try:
        atomic_write_text(tmp_path / "a.json", "{}")
        atomic_write_parquet(__import__("pandas").DataFrame({"x": [1]}), tmp_path / "b.parquet")
        write_bytes_atomic(tmp_path / "c.png", b"png")
    finally:
        os.umask(old)
        default_file_mode.cache_clear()
    assert {oct(os.stat(tmp_path / n).st_mode & 0o777) for n in ("a.json", "b.parquet", "c.png")} == {oct(mode)}


def test_restarting_an_unfinished_stage_removes_what_a_killed_attempt_left(tmp_path) -> None:
    stage = stage_dir(tmp_path, "student-x", {"a": 1})
    stage.begin()
    (stage.path / ".shard-00000.parquet.abc123.tmp").write_bytes(b"half")
    (stage.path / ".model.tmp-q1w2e3").mkdir()
    (stage.path / ".model.tmp-q1w2e3" / "weights.safetensors").write_bytes(b"half")
    (stage.path / "shard-00001.parquet").write_bytes(b"kept")  # finished work stays
    (stage.path / "ray").mkdir()
    (stage.path / "ray" / ".sock.tmp").write_bytes(b"not ours")
    stage.begin()
    assert sorted(p.name for p in stage.path.iterdir()) == ["ray", "shard-00001.parquet", "stage.json"]
    assert (stage.path / "ray" / ".sock.tmp").exists()
