"""wirewatch.devtools.procstats on real processes: the tree, memory and CPU of a child we start."""
from __future__ import annotations

import os
import subprocess
import sys

from wirewatch.devtools.procstats import children, cpu_seconds, peak_rss_mib, process_tree, rss_mib


def test_figures_of_a_live_child_and_of_a_gone_one():
    code = "x = bytearray(30 * 2**20); sum(range(3_000_000)); import time; time.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", code])
    try:
        import time

        deadline = time.monotonic() + 20
        while rss_mib(child.pid) < 30 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert child.pid in children(os.getpid()) and process_tree(os.getpid())[0] == os.getpid()
        assert child.pid in process_tree(os.getpid())
        assert 30 <= rss_mib(child.pid) <= peak_rss_mib(child.pid) + 1
        assert cpu_seconds(child.pid) > 0
    finally:
        child.kill()
        child.wait()
    assert rss_mib(child.pid) == 0.0 and cpu_seconds(child.pid) == 0.0 and children(child.pid) == []
