"""`kill <pid>` of a w2s command unwinds: cleanup runs, and child processes stop with their parent."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from labeling.exec.signals import SIGTERM_EXIT, stop_child

REPO = Path(__file__).resolve().parents[2]


def test_sigterm_runs_finally_blocks_and_atexit(tmp_path: Path) -> None:
    marker = tmp_path / "cleaned"
    code = (
        "import atexit, pathlib, time\n"
        "from labeling.exec.signals import exit_on_sigterm\n"
        "exit_on_sigterm()\n"
        f"atexit.register(lambda: pathlib.Path({str(marker)!r}).write_text('atexit'))\n"
        "try:\n    print('ready', flush=True)\n    time.sleep(60)\n"  # ready only once inside the try
        f"finally:\n    pathlib.Path({str(marker) + '.finally'!r}).write_text('finally')\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == SIGTERM_EXIT == 143
    assert marker.read_text() == "atexit" and Path(str(marker) + ".finally").read_text() == "finally"


def test_stop_child_terminates_and_kills_a_child_that_ignores_it() -> None:
    polite = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    stop_child(polite, grace_s=10)
    assert polite.returncode == -signal.SIGTERM
    stubborn = subprocess.Popen([sys.executable, "-c",
                                 "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                                 "print('ready', flush=True); time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    assert stubborn.stdout.readline().strip() == "ready"
    start = time.perf_counter()
    stop_child(stubborn, grace_s=1)
    assert stubborn.returncode == -signal.SIGKILL and time.perf_counter() - start < 10
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    stop_child(done)  # an ended child is left alone
    assert done.returncode == 0


def test_ctrl_c_says_how_to_resume_and_exits_130(monkeypatch, capsys) -> None:
    from labeling import cli

    def interrupted(args) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "cmd_data", interrupted)
    code = cli.main(["data", str(REPO / "configs" / "sciq_cpu.yaml")])
    assert code == 130
    assert "rerun the same command to resume" in capsys.readouterr().err
