"""Benchmarks behind ``wirewatch bench``; see :func:`write_result`."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_result(name: str, result: dict[str, Any], out_dir: Path = Path("bench-results")) -> Path:
    """Write ``result`` to ``out_dir/<name>.json`` and return the path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    return path
