"""docs/scaling.md's sizing table is the arithmetic of the benchmarks' own figures
(bench/sizing.py): equal to what they give now, and read from the right rows."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def sizing():
    """bench/sizing.py (tests import the installed package only, not the checkout)."""
    spec = importlib.util.spec_from_file_location("fleetchaos_bench_sizing",
                                                  REPO / "bench" / "sizing.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_sizing_table_is_what_the_benchmarks_give():
    doc = (REPO / "docs" / "scaling.md").read_text()
    block = doc.split("<!-- bench:sizing -->\n", 1)[1].split("\n<!-- /bench:sizing -->", 1)[0]
    assert block == sizing().compute(), "rerun `python -m bench.sizing` (a benchmark changed)"


FLEET = """Written by `x -m bench.fleet_capacity` on 2026-01-02 03:04 UTC.

| cars | worker processes | peak connected | records per CPU-second | CPU (cores) | KB per car |
|---:|---:|---:|---:|---:|---:|
| 10,000 | 1 | 10,000 | 2,055 | 0.47 | 38 |
| 20,000 | 2 | 20,000 | 1,206 | 1.12 | 38 |
| 19,500 | 1 | 19,500 | 4,100 | 0.46 | 19.5 |
"""


def test_the_fleet_figure_is_the_most_cars_one_process_held():
    fleet = sizing().websocket_fleet(FLEET)
    assert (fleet.cars, fleet.records_per_cpu_s, fleet.kb_per_car) == (19_500, 4_100, 19.5)
    assert fleet.source == "`x -m bench.fleet_capacity`, 2026-01-02"


def test_the_flood_factor_comes_from_the_scenario_and_the_fleet_model():
    flood = sizing().flood()
    # verbosity-flood-2021: x60 on 80 % of the cars (10 s -> 1/6 s, above the 50 ms floor)
    assert (flood.level, flood.cohort) == (60, 0.8)
    assert abs(flood.factor - (0.2 + 0.8 * 60)) < 1e-9
    assert flood.flood_bytes > 4 * flood.base_bytes  # five times the fields
