"""The fault-injection soak (benchmarks/soak.py), short: every (fault, runner) pair once (23 faults), no violation."""
import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "soak.py"


def test_short_soak_over_three_runners_has_no_invariant_violation(ray_session, capsys):
    sys.path.insert(0, str(SCRIPT.parent))
    spec = importlib.util.spec_from_file_location("soak", SCRIPT)
    soak = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(soak)
    pairs = [f"{fault}@{runner}" for runner, fault in soak.fault_cases()]
    result = soak.main(["--runs", str(len(pairs)), "--seed", "11"])
    assert result["violations"] == []
    assert result["faults"] == {pair: 1 for pair in pairs}
    assert {case.split("@")[1] for case in result["faults"]} == {"dev", "local", "ray"}
    assert "invariant violations: 0" in capsys.readouterr().out
