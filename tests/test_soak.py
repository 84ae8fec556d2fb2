"""The fault-injection soak (benchmarks/soak.py), short: at least 30 faults over dev, local and ray, no violation."""
import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "soak.py"


def test_short_soak_over_three_runners_has_no_invariant_violation(ray_session, capsys):
    sys.path.insert(0, str(SCRIPT.parent))
    spec = importlib.util.spec_from_file_location("soak", SCRIPT)
    soak = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(soak)
    result = soak.main(["--runs", "30", "--seed", "11"])
    assert result["violations"] == []
    assert result["runs"] == 30 and sum(result["faults"].values()) == 30
    assert {case.split("@")[1] for case in result["faults"]} == {"dev", "local", "ray"}
    assert {case.split("@")[0] for case in result["faults"]} == set(soak.FAULTS)
    assert "invariant violations: 0" in capsys.readouterr().out
