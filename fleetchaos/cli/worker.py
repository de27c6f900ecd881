"""`fleetchaos worker --master HOST[:PORT]`: fleet workers for a master on another machine."""

from __future__ import annotations

import argparse

from fleetchaos.cli.options import add_options, values_from

HELP = ("run fleet workers (cars, drivers) for a master on another machine: "
        "fleetchaos run ... --expect-workers N --master-bind ADDR")
DESCRIPTION = """\
Locust's worker mode with the project's fleet: the same users, fleet knobs, identity
leases and counter reports as the workers `run --workers N` starts on one machine. It
joins the master at HOST[:PORT] (port 5557 unless given), runs the share of the fleet the
master gives it, and ends when the master's run ends (exit 0). The master's address and
the proxies the master names are load targets: outside loopback each must be allowed
here too, exactly (--allow-host ADDR[,ADDR]) or all (--allow-remote); a refusal is one
line and exit 2. See docs/scaling.md."""
EPILOG = """\
example: # machine A (the master; Toxiproxy and the backend at 10.0.0.5)
         TOXIPROXY_URL=http://10.0.0.5:8474 fleetchaos run verbosity-flood-2021 \\
             --host http://10.0.0.5:8080 --expect-workers 2 --master-bind 10.0.0.4 \\
             --allow-host 10.0.0.4,10.0.0.5
         # machines B and C
         fleetchaos worker --master 10.0.0.4:5557 --processes 2 --allow-host 10.0.0.4,10.0.0.5"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--master", required=True, metavar="HOST[:PORT]",
                   help="the master's address (fleetchaos run --master-bind; port 5557 "
                        "unless given)")
    p.add_argument("--processes", type=int, default=1, metavar="N",
                   help="worker processes on this machine, one per core (default 1)")
    add_options(p, "worker")


def run(ns: argparse.Namespace) -> int:
    from fleetchaos.runs.worker import run_worker

    values = values_from(ns, "worker")
    return run_worker(ns.master, processes=ns.processes,
                      allow_remote=bool(values.get("allow_remote")),
                      allow_host=values.get("allow_host"))
