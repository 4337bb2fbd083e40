"""Every script in examples/python runs (in its --quick form) and prints what it promises."""
import os
import pathlib
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(os.environ.get("JEFFREYS_SOURCE_DIR", pathlib.Path(__file__).parents[2])) / "examples" / "python"


@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("*.py")))
def test_example_runs(script, tmp_path):
    args = [sys.executable, str(EXAMPLES / script), "--quick"]
    if script == "fit_two_moons.py":
        args += ["--out", str(tmp_path / "two_moons.png")]
    r = subprocess.run(args, capture_output=True, text=True, timeout=600, env=dict(os.environ))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip(), "printed nothing"
    if script == "fit_two_moons.py":
        assert (tmp_path / "two_moons.png").stat().st_size > 1000
