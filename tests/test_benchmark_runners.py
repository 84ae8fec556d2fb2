"""benchmarks/runners.py runs end to end (its figures are read by people, not asserted here)."""
import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "runners.py"


def test_runner_benchmark_measures_every_setting(ray_session, capsys):
    spec = importlib.util.spec_from_file_location("benchmark_runners", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = module.main(["--step-cost-ms", "0.1", "--n-steps", "5", "--seconds", "0.05", "--rounds", "1"])
    assert list(results) == ["dev", "local x1", "local x2", "ray x1", "ray x2"]
    assert all(rate > 0 for rate in results.values())
    assert "local x2 / local x1:" in capsys.readouterr().out


def test_es_scaling_benchmark_compares_one_and_two_workers(capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    spec = importlib.util.spec_from_file_location("benchmark_es_scaling", SCRIPT.parent / "es_scaling.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = module.main(["--step-cost-ms", "0", "--n-pairs", "2", "--generations", "1", "--rounds", "1"])
    assert list(results) == ["local x1", "local x2"] and all(rate > 0 for rate in results.values())
    assert "local x2 / local x1:" in capsys.readouterr().out


def test_impala_throughput_benchmark_compares_with_synchronous_a2c(capsys, monkeypatch):
    spec = importlib.util.spec_from_file_location("benchmark_impala", SCRIPT.parent / "impala_throughput.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = module.main(["--step-cost-ms", "0", "--step-cost-max-ms", "0.2", "--updates", "2", "--rounds", "1",
                           "--n-steps", "8"])
    assert results["a2c"] > 0 and results["impala"] > 0 and results["policy_lag"] >= 0
    assert "impala / a2c:" in capsys.readouterr().out
