"""A disk that fills during a run ends it with one clear line, faults rolled back and the
journal whole up to that point (issue 17 item 5: an out dir on a 3 MB filesystem never
ended, or ended in a traceback after a full run)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import requests

pytestmark = pytest.mark.slow


@pytest.fixture
def tiny_disk(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a 1 MiB tmpfs (the disk-full case)")
    folder = tmp_path / "tiny"
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_stops_the_run_cleanly(cli, toxiproxy, tiny_disk):
    """The reference backend's database shares the 1 MiB out dir and fills it in seconds."""
    result = cli("run", "baseline", "--time-scale", "0.5", "--set", "fleet.cars=50",
                 "--out", str(tiny_disk), "--no-live", env={"TOXIPROXY_URL": toxiproxy.url},
                 timeout=240)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("fleetchaos: error:")]
    assert len(errors) == 1 and "nearly full" in errors[0] and "rolled back" in errors[0]
    journal = next(tiny_disk.glob("*.journal.jsonl"))
    records = [json.loads(line) for line in journal.read_text().splitlines()]  # all whole
    assert records[0]["type"] == "header"
    proxies = requests.get(f"{toxiproxy.url}/proxies", timeout=5).json()
    assert not [name for name in proxies if name.startswith("fc-")], proxies
