"""The process launcher behind demo/run/benchmarks: settings travel to children, exited
children are restarted, stop ends them all."""
from __future__ import annotations

import os
import subprocess
import sys
import time

from pipeline.settings import Settings
from wirewatch.processes import ProcessGroup, settings_env


def test_settings_env_reproduces_settings_in_a_child(tmp_path):
    s = Settings(index_prefix="child-prefix", fetch_allow_hosts=["127.0.0.1"], search_verify_certs=False,
                 search_password="s3cret")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIREWATCH_")}
    env.update(settings_env(s))
    env["WIREWATCH_CONFIG"] = str(tmp_path / "none.toml")
    (tmp_path / "none.toml").write_text("")
    code = ("from pipeline.settings import Settings; s = Settings(); "
            "print(s.index_prefix, s.fetch_allow_hosts, s.search_verify_certs, s.search_password.get_secret_value())")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["child-prefix", "['127.0.0.1']", "False", "s3cret"]


def test_exited_child_is_restarted_and_stop_ends_all(tmp_path):
    group = ProcessGroup(log_dir=tmp_path)
    group.spawn("short", [sys.executable, "-c", "pass"], dict(os.environ), tmp_path / "short.log")
    group.spawn("long", [sys.executable, "-c", "import time; time.sleep(60)"], dict(os.environ), tmp_path / "long.log")
    first_pid = group.procs["short"].pid
    group.procs["short"].wait(timeout=30)
    assert group.restart_exited() == ["short"]
    assert group.procs["short"].pid != first_pid and group.restarts == 1
    assert group.alive()["long"]
    started = time.monotonic()
    group.stop(timeout_s=10)
    assert not any(group.alive().values())
    assert time.monotonic() - started < 15


def test_run_status_line_names_every_figure():
    from wirewatch.commands.run import _status_line

    line = _status_line({"indexed": 7, "error:fetch:timeout": 2, "error:poll:dns": 1},
                        {"fetch": 3, "enrich": 4, "in_flight": 5, "index_pending": 6})
    assert "indexed 7" in line and "errors 3" in line
    assert "queued 7" in line and "in flight 5" in line and "index pending 6" in line
