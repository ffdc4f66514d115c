"""The bad-input corpus (issue 16): every error a user can cause, by class, in one place.

Each case gives a bad input to a real command (``w2s config``, ``data``, ``label``, ``serve-judge``,
``judge``) or request (the judge API) and asserts three things: the exit code or HTTP status, a
message naming what to fix (the key, file and line, flag or field), and that nothing was left
behind (no output folder, stage folder or half-written file; what was there is unchanged).
Classes, as the issue numbers them: 1 accepted-and-changed, 2 stale results, 3 validated late,
4 tracebacks, 5 unactionable messages, 6 debris, 7 server details, 8 permissions.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from eval.atomic import default_file_mode
from labeling.cli import main
from labeling.serve.app import create_app
from labeling.serve.judge_loader import load_judge
from labeling.serve.settings import ServerSettings
from labeling.serve.toy_judge import make_toy_judge
from labeling.store.stages import stage_dir

REPO = Path(__file__).resolve().parents[2]

BASE = """name: t
models:
  weak: {path: a/b, num_hidden_layers: 2}
  strong: {path: a/c}
  debater: {path: a/d}
"""


@dataclass(frozen=True)
class Case:
    """One bad input: its class (1-8), what is given, and the words the error must contain."""

    name: str
    klass: int
    given: str | bytes | list[str]
    says: tuple[str, ...]


def files_under(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` with its bytes (what a failed command must leave unchanged)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Exit code and stderr of ``w2s ARGV`` run in this process (argparse errors included)."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: usage, then exit 2
        code = int(exc.code)
    return code, capsys.readouterr().err


def assert_clear_error(code: int, err: str, says: tuple[str, ...], expected_code: int = 2) -> None:
    """The exit code, an ``error:`` line, every word of ``says``, and no traceback."""
    assert code == expected_code, err
    assert "Traceback" not in err, err
    assert "error:" in err, err
    for words in says:
        assert words in err, (words, err)


# --- class 1, 4, 5: configuration files (`w2s config FILE`) ------------------------------------------------------

CONFIG_CASES = [
    Case("unknown top-level key", 5, BASE + "trainng: {}\n", ("trainng: unknown key",)),
    Case("unknown nested key", 5, BASE + "training:\n  weak: {epochz: 3}\n", ("training.weak.epochz: unknown key",)),
    Case("text where a number belongs", 5, BASE + "training:\n  weak: {epochs: three}\n",
         ("training.weak.epochs", "three")),
    Case("negative split size", 1, BASE + "data: {weak_train: -5}\n", ("data.weak_train", "greater than 0")),
    Case("empty test split", 1, BASE + "data: {test: 0}\n", ("data.test", "greater than 0")),
    Case("a boolean as a size", 1, BASE + "data: {test: true}\n", ("data.test", "boolean")),
    Case("a training seed twice", 1, BASE + "training: {seeds: [0, 0]}\n", ("training.seeds", "distinct")),
    Case("a debate seed twice", 1, BASE + "debate: {seeds: [1, 1]}\n", ("debate.seeds", "distinct")),
    Case("a YAML key twice", 1, BASE + "data: {test: 10}\ndata: {test: 20}\n", ("'data' appears twice", "line 7")),
    Case("unknown protocol", 5, BASE + "debate: {protocols: [none, debat]}\n", ("debate.protocols", "'debat'", "known")),
    Case("no baseline protocol", 1, BASE + "debate: {protocols: [debate]}\n", ("must include 'none'",)),
    Case("negative temperature", 1, BASE + "debate: {sampling: {temperature: -1}}\n", ("temperature must be >= 0",)),
    Case("top_p above 1", 1, BASE + "debate: {sampling: {top_p: 7}}\n", ("top_p must lie in (0, 1]",)),
    Case("zero max_tokens", 1, BASE + "debate: {sampling: {max_tokens: 0}}\n", ("max_tokens must be >= 1",)),
    Case("negative learning rate", 1, BASE + "training:\n  weak: {lr: -0.1}\n", ("training.weak", "lr must be > 0",)),
    Case("a loss whose sources match nothing", 1,
         BASE + "training:\n  student_losses: [{name: xent, sources: [nosuch]}]\n",
         ("student_losses[0].sources", "nosuch")),
    Case("a list at the top level", 5, "- a\n- b\n", ("must hold a mapping",)),
    Case("unclosed YAML bracket", 5, BASE + "data: {test: [1, 2\n", ("not valid YAML", "line 6")),
    Case("an empty file", 5, "", ("name: required", "models: required")),
    Case("a tab in the indentation", 5, BASE + "data:\n\ttest: 3\n", ("not valid YAML", "line 7")),
    Case("unknown dtype", 5, BASE + "training: {dtype: float17}\n", ("training.dtype", "float17")),
    Case("a model cut to 0 layers", 1, BASE.replace("num_hidden_layers: 2", "num_hidden_layers: 0"),
         ("models.weak.num_hidden_layers",)),
    Case("zero shard size", 1, BASE + "debate: {shard_size: 0}\n", ("debate.shard_size",)),
    Case("unknown judge input layout", 5, BASE + "debate: {judge_input: sideways}\n", ("debate.judge_input", "sideways")),
    Case("unknown judge view", 5, BASE + "debate: {judge_view: some}\n", ("debate.judge_view", "some")),
    Case("unknown ensemble", 5, BASE + "training: {ensembles: [mega]}\n", ("training.ensembles.0", "mega")),
    Case("a config that is not UTF-8", 5, BASE.encode() + b"data: {dataset: sci\xff}\n",
         ("line 6", "not valid UTF-8", "column 20")),
]


@pytest.mark.parametrize("case", CONFIG_CASES, ids=lambda c: c.name)
def test_config_file(case: Case, tmp_path: Path, capsys) -> None:
    path = tmp_path / "exp.yaml"
    path.write_bytes(case.given if isinstance(case.given, bytes) else case.given.encode())
    before = files_under(tmp_path)
    code, err = run_cli(["config", str(path)], capsys)
    assert_clear_error(code, err, case.says)
    assert files_under(tmp_path) == before


@pytest.mark.parametrize(("argv_tail", "says"), [
    (["{missing}"], ("does not exist",)),
    (["{folder}"], ("is a folder, not a YAML file",)),
    (["{ok}", "--set", "data.test"], ("override 'data.test' is not of the form key.path=value",)),
    (["{ok}", "--set", "x.y=1"], ("x: unknown key",)),
    (["{ok}", "--set", "output_dir=~no-such-user-w2s/runs"], ("output_dir: cannot expand '~no-such-user-w2s",)),
], ids=["missing file", "a folder", "override without =", "unknown override key", "home folder of no user"])
def test_config_paths_and_overrides(argv_tail: list[str], says: tuple[str, ...], tmp_path: Path, capsys) -> None:
    (tmp_path / "ok.yaml").write_text(BASE)
    (tmp_path / "folder").mkdir()
    names = {"missing": tmp_path / "nosuch.yaml", "folder": tmp_path / "folder", "ok": tmp_path / "ok.yaml"}
    argv = ["config", *[a.format(**names) for a in argv_tail]]
    code, err = run_cli(argv, capsys)
    assert_clear_error(code, err, says)


# --- class 2, 4, 5, 6: data files (`w2s data`) --------------------------------------------------------------------

GOOD_ROWS = [{"question": f"is thing {i} true", "passage": f"Thing {i} -- passage {i} text.", "idx": i,
              "label": i % 2 == 0} for i in range(30)]


def jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


DATA_CASES = [
    Case("invalid JSON", 5, jsonl(GOOD_ROWS[:6]) + '{"question": "x", \n' + jsonl(GOOD_ROWS[6:]),
         ("superglue_val.jsonl: line 7: invalid JSON",)),
    Case("a label that is not a boolean", 5, jsonl(GOOD_ROWS[:3] + [{**GOOD_ROWS[3], "label": "maybe"}] + GOOD_ROWS[4:]),
         ("line 4: field 'label'", "'maybe'")),
    Case("a missing question", 5,
         jsonl(GOOD_ROWS[:4] + [{k: v for k, v in GOOD_ROWS[4].items() if k != "question"}] + GOOD_ROWS[5:]),
         ("line 5: missing field 'question'",)),
    Case("a blank question", 7, jsonl(GOOD_ROWS[:4] + [{**GOOD_ROWS[4], "question": "  "}] + GOOD_ROWS[5:]),
         ("line 5: field 'question' is empty",)),
    Case("not UTF-8", 5, jsonl(GOOD_ROWS[:5]).encode() + b'{"question": "caf\xe9", "passage": "a -- b", "idx": 99}\n',
         ("line 6: not valid UTF-8", "save the file as UTF-8")),
    Case("an empty file", 5, "", ("superglue_val.jsonl: no rows",)),
    Case("no data file at all", 5, b"", ("no data file in", "superglue_val.jsonl (validation)")),
    Case("too few items for the sizes", 5, jsonl(GOOD_ROWS[:5]),
         ("boolq from", "pool has 5 rows", "lower data.weak_train")),
    Case("a line holding a list", 5, jsonl(GOOD_ROWS[:3]) + "[1, 2]\n" + jsonl(GOOD_ROWS[3:]),
         ("line 4: expected an object, got list",)),
]


def boolq_config(tmp_path: Path, source: Path | str) -> Path:
    """A config that reads BoolQ items from ``source`` into ``tmp_path/runs``."""
    path = tmp_path / "exp.yaml"
    path.write_text(BASE + f"output_dir: {tmp_path / 'runs'}\n"
                    f"data: {{dataset: boolq, source: {source}, weak_train: 4, strong_train: 4, test: 4}}\n")
    return path


@pytest.mark.parametrize("case", DATA_CASES, ids=lambda c: c.name)
def test_data_file(case: Case, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "src" / "boolq"
    folder.mkdir(parents=True)
    if case.name != "no data file at all":
        raw = case.given if isinstance(case.given, bytes) else case.given.encode()
        (folder / "superglue_val.jsonl").write_bytes(raw)
    config = boolq_config(tmp_path, tmp_path / "src")
    code, err = run_cli(["data", str(config)], capsys)
    assert_clear_error(code, err, case.says)
    assert not (tmp_path / "runs").exists()  # the failed data stage removed its folder (class 6)


def test_an_unknown_dataset_is_refused_before_any_stage(tmp_path: Path, capsys) -> None:
    """Class 3: `w2s run` checks the dataset with the models, before the data stage."""
    path = tmp_path / "exp.yaml"
    path.write_text(BASE.replace("a/b", "packaged:smollm2-135m-instruct") + f"output_dir: {tmp_path / 'runs'}\n"
                    "data: {dataset: sciqq}\n")
    code, err = run_cli(["run", str(path)], capsys)
    assert_clear_error(code, err, ("this run cannot start", "data.dataset: unknown dataset 'sciqq'", "known",
                                   "models.strong.path"))
    assert not (tmp_path / "runs").exists()


def test_data_hub_unreachable_fails_fast_saying_what_to_do(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")  # nothing listens: the hub is "down"
    path = tmp_path / "exp.yaml"
    path.write_text(BASE + f"output_dir: {tmp_path / 'runs'}\ndata: {{dataset: sciq, weak_train: 4, "
                    "strong_train: 4, test: 4}\n")
    code, err = run_cli(["data", str(path)], capsys)
    assert_clear_error(code, err, ("cannot be reached", "give data.source (--source) a local copy", "HF_HUB_OFFLINE=1"))
    assert not (tmp_path / "runs").exists()


def test_replaced_data_files_are_never_reused_stale(tmp_path: Path, capsys) -> None:
    """Class 2: new bytes under data.source make new splits; the old stage is not reused."""
    folder = tmp_path / "src" / "boolq"
    folder.mkdir(parents=True)
    (folder / "superglue_val.jsonl").write_text(jsonl(GOOD_ROWS))
    config = boolq_config(tmp_path, tmp_path / "src")
    assert run_cli(["data", str(config)], capsys)[0] == 0
    first = sorted((tmp_path / "runs" / "artifacts").iterdir())
    (folder / "superglue_val.jsonl").write_text(jsonl([{**r, "question": r["question"] + "?"} for r in GOOD_ROWS]))
    assert run_cli(["data", str(config)], capsys)[0] == 0
    second = sorted((tmp_path / "runs" / "artifacts").iterdir())
    assert len(first) == 1 and len(second) == 2 and first[0] in second


def test_a_relative_source_is_keyed_by_its_absolute_path(tmp_path: Path, capsys, monkeypatch) -> None:
    """Class 2: the same relative data.source from two folders is two different inputs."""
    for place in ("a", "b"):
        folder = tmp_path / place / "src" / "boolq"
        folder.mkdir(parents=True)
        rows = GOOD_ROWS if place == "a" else [{**r, "label": not r["label"]} for r in GOOD_ROWS]
        (folder / "superglue_val.jsonl").write_text(jsonl(rows))
    config = boolq_config(tmp_path, "src")
    for place in ("a", "b"):
        monkeypatch.chdir(tmp_path / place)
        assert run_cli(["data", str(config)], capsys)[0] == 0
    assert len(list((tmp_path / "runs" / "artifacts").iterdir())) == 2


# --- class 1, 3, 4, 5: `w2s label` --------------------------------------------------------------------------------

GOOD_ITEMS = [{"id": f"i{k}", "question": f"What do plants need {k}?", "answer": "light" if k % 2 else "salt"}
              for k in range(6)]

LABEL_CASES = [
    Case("a blank question", 7, ["--input", "{bq}"], ("bq.jsonl: line 3: field 'question' is empty",)),
    Case("an empty answer", 7, ["--input", "{ea}"], ("ea.jsonl: line 3: field 'answer' is empty",)),
    Case("invalid JSON", 5, ["--input", "{bj}"], ("bj.jsonl: line 3: invalid JSON",)),
    Case("not UTF-8", 5, ["--input", "{nu}"], ("nu.jsonl: line 3: not valid UTF-8",)),
    Case("an id twice", 1, ["--input", "{di}"], ("di.jsonl: line 7: duplicate id 'i0' (first at line 1)",)),
    Case("a missing items file", 5, ["--input", "{tmp}/nosuch.jsonl"], ("nosuch.jsonl", "neither a file nor a registry spec")),
    Case("a negative limit", 1, ["--input", "{ok}", "--limit", "-3"], ("input.limit (--limit)", "greater than 0")),
    Case("a negative temperature", 1, ["--input", "{ok}", "--temperature", "-1"], ("temperature must be >= 0",)),
    Case("top_p above 1", 1, ["--input", "{ok}", "--top-p", "7"], ("top_p must lie in (0, 1]",)),
    Case("zero max tokens", 1, ["--input", "{ok}", "--max-tokens", "0"], ("max_tokens must be >= 1",)),
    Case("zero seeds", 1, ["--input", "{ok}", "--seeds", "0"], ("debate.seeds (--seeds)",)),
    Case("unknown protocol", 5, ["--input", "{ok}", "--protocol", "debat"], ("--protocol", "invalid choice: 'debat'")),
    Case("a judge folder that is not a judge", 3, ["--input", "{ok}", "--judge", "{tmp}"],
         ("nothing was started", "--judge", "stage.json is missing")),
    Case("a judge folder that does not exist", 3, ["--input", "{ok}", "--judge", "{tmp}/nojudge"],
         ("--judge", "nojudge/stage.json is missing")),
    Case("market making without weak picks", 3, ["--input", "{ok}", "--protocol", "market_making"],
         ("pass --weak-picks FILE",)),
    Case("a weak pick that is not 0/1", 5,
         ["--input", "{ok}", "--protocol", "market_making", "--weak-picks", "{picks_bad}"],
         ("picks_bad.jsonl: line 2: pick must be 0 or 1, got 3",)),
    Case("weak picks with invalid JSON", 5,
         ["--input", "{ok}", "--protocol", "market_making", "--weak-picks", "{picks_json}"],
         ("picks_json.jsonl: line 2: invalid JSON",)),
    Case("a weak pick given twice", 1,
         ["--input", "{ok}", "--protocol", "market_making", "--weak-picks", "{picks_twice}"],
         ("picks_twice.jsonl: line 2: id 'i0' given again with another pick",)),
    Case("weak picks missing for items", 5,
         ["--input", "{ok}", "--protocol", "market_making", "--weak-picks", "{picks_short}"],
         ("no weak pick for 5 items",)),
    Case("a missing weak picks file", 5,
         ["--input", "{ok}", "--protocol", "market_making", "--weak-picks", "{tmp}/nop.jsonl"],
         ("weak picks file", "nop.jsonl does not exist")),
    Case("a typo in the model", 3, ["--input", "{ok}", "--backend", "vllm", "--model", "packaged:nosuch"],
         ("nothing was started", "--model: unknown packaged model 'nosuch'")),
    Case("an OpenAI backend without a URL", 3, ["--input", "{ok}", "--backend", "openai"],
         ("--base-url", "http://")),
    Case("an OpenAI URL without scheme", 4, ["--input", "{ok}", "--backend", "openai", "--base-url", "127.0.0.1:8001"],
         ("--base-url", "127.0.0.1:8001")),
    Case("an unknown --set key", 5, ["--input", "{ok}", "--set", "debate.sampling.temprature=1"],
         ("debate.sampling.temprature: unknown key",)),
    Case("a registry split that does not exist", 5, ["--input", "sciq:nosplit", "--source", "{shared}/sciq"],
         ("split 'nosplit'", "available splits there")),
    Case("a truncated .gz items file", 4, ["--input", "{gz}"], ("not a complete gzip file",)),
    Case("an output folder in a home folder of no user", 4, ["--input", "{ok}", "--out", "~no-such-user-w2s/x"],
         ("out (--out): out: cannot expand",)),
]


def write_label_inputs(tmp_path: Path) -> dict[str, str]:
    """The item and weak-pick files the label cases name, by placeholder."""
    def put(name: str, content: str | bytes) -> str:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return str(path)

    import gzip

    good = jsonl(GOOD_ITEMS)
    return {
        "tmp": str(tmp_path), "ok": put("ok.jsonl", good),
        "bq": put("bq.jsonl", jsonl(GOOD_ITEMS[:2] + [{**GOOD_ITEMS[2], "question": " "}])),
        "ea": put("ea.jsonl", jsonl(GOOD_ITEMS[:2] + [{**GOOD_ITEMS[2], "answer": ""}])),
        "bj": put("bj.jsonl", jsonl(GOOD_ITEMS[:2]) + "{oops\n"),
        "nu": put("nu.jsonl", jsonl(GOOD_ITEMS[:2]).encode() + b'{"id": "x", "question": "\xff", "answer": "a"}\n'),
        "di": put("di.jsonl", jsonl(GOOD_ITEMS + [GOOD_ITEMS[0]])),
        "gz": put("items.jsonl.gz", gzip.compress(jsonl([{**GOOD_ITEMS[0], "id": f"g{k}"} for k in range(300)]).encode())[:300]),
        "picks_bad": put("picks_bad.jsonl", '{"id": "i0", "pick": 1}\n{"id": "i1", "pick": 3}\n'),
        "picks_json": put("picks_json.jsonl", '{"id": "i0", "pick": 1}\n{"id": "i1", "pick": \n'),
        "picks_twice": put("picks_twice.jsonl", '{"id": "i0", "pick": 1}\n{"id": "i0", "prob": 0.1}\n'),
        "picks_short": put("picks_short.jsonl", '{"id": "i0", "pick": 1}\n'),
    }


@pytest.mark.parametrize("case", LABEL_CASES, ids=lambda c: c.name)
def test_label_job(case: Case, tmp_path: Path, shared_data: Path, capsys) -> None:
    names = {**write_label_inputs(tmp_path), "shared": str(shared_data)}
    given = [a.format(**names) for a in case.given]
    out = tmp_path / "out"
    argv = ["label", "--backend", "scripted", "--seeds", "1", *(["--out", str(out)] if "--out" not in given else []),
            *given]
    before = files_under(tmp_path)
    code, err = run_cli(argv, capsys)
    assert_clear_error(code, err, case.says)
    assert not out.exists()  # checked before the folder is made: a corrected rerun starts clean
    assert files_under(tmp_path) == before


# --- class 4, 7: `w2s serve-judge` (fails before it listens) ------------------------------------------------------

def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def toy_judge_dir(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    """A real (tiny) judge stage folder."""
    return make_toy_judge(tmp_path_factory.mktemp("corpus-judge") / "runs", tiny_model_dir)


SERVE_CASES = [
    Case("a port above 65535", 7, ["--port", "99999"], ("http.port (--port)", "1..65535")),
    Case("all interfaces without a key", 7, ["--host", "0.0.0.0"], ("refusing to listen on '0.0.0.0' without API keys",)),
    Case("a key file others can read", 7, ["--api-key-file", "{open_keys}"], ("readable by other users; chmod 600",)),
    Case("a key too short", 7, ["--api-key-file", "{short_keys}"], ("short_keys: line 2", "at least 16 characters")),
    Case("a key file that is a folder", 4, ["--api-key-file", "{key_folder}"], ("key_folder is a folder",)),
    Case("a missing key file", 4, ["--api-key-file", "{tmp}/nokeys"], ("API key file", "nokeys does not exist")),
    Case("a judge folder that does not exist", 5, ["--judge", "{tmp}/nojudge"],
         ("nojudge is neither a judge stage folder",)),
    Case("a folder that is not a judge", 5, ["--judge", "{tmp}"], ("is neither a judge stage folder",)),
    Case("a port in use", 4, ["--port", "{busy_port}"], ("already in use", "pick another --port")),
    Case("an unknown --set key", 5, ["--set", "http.hots=1"], ("http.hots: unknown key",)),
]


@pytest.mark.parametrize("case", SERVE_CASES, ids=lambda c: c.name)
def test_serve_judge(case: Case, toy_judge_dir: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("W2S_JUDGE_API_KEYS", raising=False)
    open_keys, short_keys = tmp_path / "open_keys", tmp_path / "short_keys"
    open_keys.write_text("k" * 24 + "\n")
    open_keys.chmod(0o644)
    short_keys.write_text("# a comment\nabc\n")
    short_keys.chmod(0o600)
    (tmp_path / "key_folder").mkdir(mode=0o700)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        names = {"tmp": str(tmp_path), "open_keys": str(open_keys), "short_keys": str(short_keys),
                 "key_folder": str(tmp_path / "key_folder"), "busy_port": str(busy.getsockname()[1])}
        given = [a.format(**names) for a in case.given]
        judge = [] if "--judge" in given else ["--judge", str(toy_judge_dir)]
        port = [] if "--port" in given else ["--port", str(closed_port())]
        code, err = run_cli(["serve-judge", *judge, *port, *given], capsys)
    assert_clear_error(code, err, case.says)
    assert "abc" not in err  # a key is never echoed


# --- class 4: the client (`w2s judge`) ----------------------------------------------------------------------------

CLIENT_CASES = [
    Case("a URL without scheme", 4, ["--url", "127.0.0.1:8000"], ("must start with http:// or https://",)),
    Case("a URL of another scheme", 4, ["--url", "ftp://127.0.0.1:8000"], ("must start with http:// or https://",)),
    Case("a closed port", 4, ["--url", "{closed}"], ("cannot reach a judge server at", "check --url")),
    Case("a server that never answers", 4, ["--url", "{silent}", "--timeout", "0.5"],
         ("did not answer within 0.5 s", "raise --timeout")),
    Case("an items file with invalid JSON", 5, ["--url", "{closed}", "--items", "{bad_items}"],
         ("bad.jsonl: line 2: invalid JSON",)),
    Case("a missing items file", 5, ["--url", "{closed}", "--items", "{tmp}/no.jsonl"], ("--items:", "does not exist")),
    Case("neither items nor a question", 5, ["--url", "{closed}"], ("give --items FILE, or --question and --answer",)),
    Case("a key file that is a folder", 4, ["--url", "{closed}", "--api-key-file", "{key_folder}"], ("is a folder",)),
    Case("a missing transcript file", 5, ["--url", "{closed}", "--transcript-file", "{tmp}/t.txt"],
         ("--transcript-file:", "does not exist")),
    Case("a negative timeout", 1, ["--url", "{closed}", "--timeout", "-1"], ("--timeout", "must be above 0")),
]


@pytest.mark.parametrize("case", CLIENT_CASES, ids=lambda c: c.name)
def test_judge_client(case: Case, tmp_path: Path, capsys) -> None:
    (tmp_path / "bad.jsonl").write_text('{"question": "a", "answer": "b"}\n{oops\n')
    (tmp_path / "key_folder").mkdir(mode=0o700)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts connections, never answers
        names = {"tmp": str(tmp_path), "closed": f"http://127.0.0.1:{closed_port()}",
                 "silent": f"http://127.0.0.1:{silent.getsockname()[1]}", "bad_items": str(tmp_path / "bad.jsonl"),
                 "key_folder": str(tmp_path / "key_folder")}
        given = [a.format(**names) for a in case.given]
        question = [] if "--items" in given or case.name.startswith("neither") else ["--question", "q", "--answer", "a"]
        code, err = run_cli(["judge", *given, *question], capsys)
    assert_clear_error(code, err, case.says)


# --- class 7: the judge API ---------------------------------------------------------------------------------------

KEY = "corpus-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}
ITEM = {"question": "what do plants need", "answer": "light"}

API_CASES = [
    ("no key", "post", "/v1/judge", {"json": {"items": [ITEM]}}, 401, "missing or invalid API key"),
    ("a wrong key", "post", "/v1/judge", {"json": {"items": [ITEM]}, "headers": {"Authorization": "Bearer wrong-key-0123456789"}},
     401, "missing or invalid API key"),
    ("a key in the query string", "post", f"/v1/judge?api_key={KEY}", {"json": {"items": [ITEM]}}, 401,
     "missing or invalid API key"),
    ("a body that is not declared JSON", "post", "/v1/judge",
     {"content": json.dumps({"items": [ITEM]}).encode(), "headers": {**AUTH, "content-type": "text/plain"}},
     415, "content-type: application/json"),
    ("a body that is not JSON", "post", "/v1/judge",
     {"content": b'{"items": [}', "headers": {**AUTH, "content-type": "application/json"}}, 422, "not valid JSON"),
    ("a blank question", "post", "/v1/judge", {"json": {"items": [{"question": "  ", "answer": "a"}]}}, 422,
     "body.items.0.question"),
    ("an empty answer", "post", "/v1/judge", {"json": {"items": [{"question": "q", "answer": ""}]}}, 422,
     "body.items.0.answer"),
    ("a gold label sent to the judge", "post", "/v1/judge", {"json": {"items": [{**ITEM, "label": 1}]}}, 422,
     "body.items.0.label"),
    ("too many items", "post", "/v1/judge", {"json": {"items": [ITEM] * 5}}, 422, "at most 4 items"),
    ("a body over the size cap", "post", "/v1/judge", {"json": {"items": [{**ITEM, "question": "q" * 5000}]}}, 413,
     "exceeds"),
    ("a debate with no debater", "post", "/v1/judge", {"json": {"items": [ITEM], "debate": True}}, 400, "not enabled"),
    ("the docs page (no CDN scripts)", "get", "/docs", {}, 404, "Not Found"),
    ("the schema without a key", "get", "/openapi.json", {"headers": {}}, 401, "missing or invalid API key"),
]


@pytest.fixture(scope="module")
def api(toy_judge_dir: Path):
    settings = ServerSettings(api_keys=frozenset({KEY}), max_items=4, max_body_bytes=4_000)
    with TestClient(create_app(load_judge(toy_judge_dir), settings), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize(("name", "method", "path", "kwargs", "status", "says"), API_CASES, ids=[c[0] for c in API_CASES])
def test_judge_api(api: TestClient, name: str, method: str, path: str, kwargs: dict, status: int, says: str) -> None:
    kwargs = {**kwargs, "headers": kwargs.get("headers", AUTH if "key" not in name else {})}
    response = getattr(api, method)(path, **kwargs)
    assert response.status_code == status, response.text
    assert says in response.text
    assert KEY not in response.text


# --- class 6: debris of interrupted or failed work ----------------------------------------------------------------

def test_a_killed_data_stage_leaves_temps_the_rerun_removes(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "src" / "boolq"
    folder.mkdir(parents=True)
    (folder / "superglue_val.jsonl").write_text(jsonl(GOOD_ROWS))
    config = boolq_config(tmp_path, tmp_path / "src")
    assert run_cli(["data", str(config)], capsys)[0] == 0
    stage = next((tmp_path / "runs" / "artifacts").iterdir())
    (stage / "COMPLETE").unlink()  # what a kill -9 between the splits and the marker leaves
    (stage / ".test.parquet.1234.tmp").write_bytes(b"half")
    (stage / ".model.tmp-abc").mkdir()
    assert run_cli(["data", str(config)], capsys)[0] == 0
    assert sorted(p.name for p in stage.iterdir()) == ["COMPLETE", "stage.json", "strong_train.parquet",
                                                      "test.parquet", "weak_train.parquet"]


def test_a_failed_stage_removes_its_own_folder_and_keeps_others(tmp_path: Path) -> None:
    stage = stage_dir(tmp_path / "runs", "weak-floor", {"x": 1})
    with pytest.raises(RuntimeError), stage.attempt():
        (stage.path / "partial.bin").write_bytes(b"x")
        raise RuntimeError("out of memory")
    assert not (tmp_path / "runs").exists()
    kept = stage_dir(tmp_path / "runs", "weak-floor", {"x": 2})
    with pytest.raises(RuntimeError), kept.attempt(resumable=lambda: True):  # a trained model: the rerun predicts
        raise RuntimeError("predictions failed")
    assert (kept.path / "stage.json").is_file()
    with pytest.raises(RuntimeError), kept.attempt():  # existed before this attempt: not provably its own
        raise RuntimeError("again")
    assert (kept.path / "stage.json").is_file()


def test_label_rerun_after_a_kill_removes_temps(tmp_path: Path, capsys) -> None:
    names = write_label_inputs(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / ".summary.json.99.tmp").write_text("{")
    code, err = run_cli(["label", "--backend", "openai", "--input", names["ok"], "--out", str(out)], capsys)
    assert code == 2 and "--base-url" in err
    assert (out / ".summary.json.99.tmp").exists()  # a refused job touches nothing, not even old temps


def test_a_closed_stdout_ends_quietly_with_141(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader went away before the first byte (`w2s config x | head -0`)
    try:
        done = subprocess.run([sys.executable, "-m", "labeling.cli", "config", str(REPO / "configs" / "sciq_cpu.yaml")],
                              stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert done.returncode == 141, done.stderr
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


# --- class 8: permissions -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_artifacts_get_the_mode_the_umask_gives(umask: int, mode: int, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "src" / "boolq"
    folder.mkdir(parents=True)
    (folder / "superglue_val.jsonl").write_text(jsonl(GOOD_ROWS))
    old = os.umask(umask)
    default_file_mode.cache_clear()  # read once per process; a user's umask does not change mid-run
    try:
        assert run_cli(["data", str(boolq_config(tmp_path, tmp_path / "src"))], capsys)[0] == 0
    finally:
        os.umask(old)
        default_file_mode.cache_clear()
    written = list((tmp_path / "runs" / "artifacts").rglob("*.parquet"))
    assert written and {stat.S_IMODE(p.stat().st_mode) for p in written} == {mode}

