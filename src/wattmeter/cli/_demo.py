"""``wattmeter demo``: the main job on embedded defaults — no API key, no network.

It starts the local provider simulator, instruments the installed client libraries,
makes calls for several teams with budgets (one team crosses its warning threshold),
serves ``/metrics``, writes a SQLite ledger, and ends with a per-team table.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from typing import Any

__all__ = ["DEMO_LEDGER", "HELP", "NAME", "add_arguments", "run"]

NAME = "demo"
HELP = "run a metered workload against a local provider simulator (no API key needed)"

#: The simulator's OpenAI-style routes answer on 127.0.0.1: record them as "openai".
_BASE_OPTIONS: dict[str, Any] = {"provider_hosts": {"127.0.0.1": "openai"}}

#: Where the demo writes its ledger unless told (`wattmeter report` and `budgets` look here).
DEMO_LEDGER = "wattmeter-demo.sqlite3"

#: The research team's daily budget is set so the demo's run uses this share of it.
_RESEARCH_TARGET = 0.88


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--duration", type=float, default=8.0, metavar="SECONDS",
                        help="spread the rounds over this many seconds (default 8)")
    parser.add_argument("--rounds", type=int, default=10, help="rounds of calls (default 10)")
    parser.add_argument("--port", type=int, default=9464,
                        help="serve /metrics on this port (0: any free port; default 9464)")
    parser.add_argument("--teams", default=",".join(_teams()),
                        help="comma-separated team names (default: %(default)s)")
    parser.add_argument("--ledger", default=DEMO_LEDGER, metavar="PATH",
                        help="SQLite ledger to write (replaced each run; default %(default)s)")
    parser.add_argument("--live", action="store_true",
                        help="use the real OpenAI/Anthropic APIs when their keys are set")
    parser.add_argument("--hold", type=float, default=0.0, metavar="SECONDS",
                        help="keep serving /metrics this long after the run (for a scrape)")
    parser.add_argument("--quiet", action="store_true", help="print only the final table")


#: The target of grafana/prometheus/prometheus-local.yml (Prometheus beside the demo).
LOCAL_SCRAPE_PORT = 9464


def _teams() -> tuple[str, ...]:
    from ._demo_workload import DEFAULT_TEAMS

    return DEFAULT_TEAMS


def _check(args: argparse.Namespace) -> list[str]:
    teams = [t.strip() for t in args.teams.split(",") if t.strip()]
    if not teams:
        raise ValueError("--teams: expected at least one team name, e.g. --teams search,support")
    if args.rounds < 1:
        raise ValueError(f"--rounds: got {args.rounds}; expected a whole number >= 1")
    if args.duration < 0 or args.hold < 0:
        raise ValueError("--duration/--hold: expected a number of seconds >= 0")
    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port: got {args.port}; expected 0-65535 (0: any free port)")
    _check_ledger(args.ledger)
    return teams


def _check_ledger(path: str) -> None:
    """The demo replaces its ledger: the path must be a file (or nothing) we can write."""
    import sqlite3

    if os.path.exists(path) and not os.path.isfile(path):
        raise ValueError(f"--ledger: {path!r} exists and is not a file; give a file path")
    folder = os.path.dirname(os.path.abspath(path))
    try:  # a missing folder is made, as the library's ledger does
        os.makedirs(folder, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"--ledger: the folder {folder!r} does not exist and can't be created "
                         f"({exc.strerror or exc}); give a path in a writable folder") from None
    probe = path + ".wattmeter-probe"
    try:
        sqlite3.connect(probe).execute("create table probe (x)").connection.close()
        if os.path.exists(path):
            with open(path, "r+b"):
                pass
    except (sqlite3.Error, OSError) as exc:
        raise ValueError(f"--ledger: can't write a SQLite ledger at {path!r} ({exc}); give a "
                         "writable path") from None
    finally:
        if os.path.exists(probe):
            os.remove(probe)


def run(args: argparse.Namespace) -> int:
    teams = _check(args)
    import wattmeter
    from wattmeter.testing import capture
    from wattmeter.testing.simulator import Simulator

    from .._guard import error_counts

    errors_before = sum(error_counts.values())
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, flush=True))
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(args.ledger + suffix):
            os.remove(args.ledger + suffix)
    events: list[str] = []

    def on_event(event: Any) -> None:
        events.append(f"budget {event.budget.name!r}: team {event.budget.team!r} crossed "
                      f"{event.threshold:.0%} of its limit for the {event.budget.period.text}")
        say(f"  ! {events[-1]}")

    with Simulator() as sim:
        from ._demo_workload import Workload

        work = Workload(sim.url, live=args.live)
        for note in work.notes:
            say(note)
        expected = _expected_per_round(work, teams)
        budgets = [_budget(team, expected.get(team, (0.0, 0.0))[0] * args.rounds, on_event,
                           warn=(team == "research")) for team in teams]
        # and a CO2e budget for the biggest emitter, so the gram budget panels show data too
        top = max(teams, key=lambda t: expected.get(t, (0.0, 0.0))[1])
        budgets.append(_co2e_budget(top, expected.get(top, (0.0, 0.0))[1] * args.rounds,
                                    on_event))
        port = _configure(args, budgets)
        handle = wattmeter.instrument(*work.libraries)
        say(f"wattmeter demo: simulator at {sim.url}; metered libraries: "
            f"{', '.join(handle.libraries)}")
        say(f"/metrics at http://127.0.0.1:{port}/metrics; ledger {args.ledger}\n")
        per_team: dict[str, list[Any]] = defaultdict(list)
        pause = args.duration / args.rounds
        try:
            with capture() as footprints:
                for i in range(1, args.rounds + 1):
                    started = time.monotonic()
                    for team in teams:
                        with wattmeter.attribute(team=team, feature="demo"):
                            for _, call in work.calls(team):
                                _try(call, say)
                    total = sum(fp.energy_wh for fp in footprints)
                    say(f"[{i:>3}/{args.rounds}] {len(footprints):>4} calls  "
                        f"{total:>10.2f} Wh so far")
                    time.sleep(max(0.0, pause - (time.monotonic() - started)))
                from ..budget import current_manager

                mgr = current_manager()
                if mgr is not None:
                    mgr.flush()
                    mgr.sync()
            for fp in footprints:
                per_team[fp.team].append(fp)
            _table(per_team, teams)
            if args.hold:
                say(f"\nserving /metrics for {args.hold:.0f} s more...")
                time.sleep(args.hold)
        finally:
            wattmeter.uninstrument()
    _outro(port, args.ledger, events)
    failed = sum(error_counts.values()) - errors_before
    if failed:
        import sys

        print(f"wattmeter demo: error: {failed} metering error(s) during the run (see the "
              "log above); the figures above may be incomplete", file=sys.stderr)
        return 1
    return 0


def _try(call: Any, say: Any) -> None:
    try:
        call()
    except Exception as exc:  # a live API may refuse; the demo goes on
        say(f"  call failed: {type(exc).__name__}: {exc}"[:200])


def _expected_per_round(work: Any, teams: list[str]) -> dict[str, tuple[float, float]]:
    """Each team's facility Wh and gCO2e for one round, measured on a dry run with nothing
    exported."""
    import wattmeter
    from wattmeter.testing import capture

    wattmeter.configure(prometheus=False, spans="off", budgets=[], **_BASE_OPTIONS)
    handle = wattmeter.instrument(*work.libraries)
    out: dict[str, tuple[float, float]] = {}
    try:
        with capture() as fps:
            for team in teams:
                with wattmeter.attribute(team=team):
                    for _, call in work.calls(team):
                        _try(call, lambda *a: None)
        for fp in fps:
            wh, g = out.get(fp.team, (0.0, 0.0))
            out[fp.team] = (wh + fp.energy_wh, g + fp.co2e_g)
    finally:
        handle.__exit__()
    return out


def _budget(team: str, expected_wh: float, on_event: Any, warn: bool) -> Any:
    from ..budget import Budget

    # One team is set up to cross its 80% warning; the others have room to spare.
    share = _RESEARCH_TARGET if warn else 0.3
    limit = max(expected_wh / share, 1.0)
    return Budget(team=team, limit_wh=round(limit, 1), period="day",
                  actions=("metrics", "callback"), callback=on_event, name=f"{team}-daily")


def _co2e_budget(team: str, expected_g: float, on_event: Any) -> Any:
    from ..budget import Budget

    limit = max(expected_g / 0.4, 1.0)  # 40% used by the end of the run: no threshold
    return Budget(team=team, limit_co2e_g=round(limit, 1), period="day",
                  actions=("metrics", "callback"), callback=on_event,
                  name=f"{team}-daily-co2e")


def _configure(args: argparse.Namespace, budgets: list[Any]) -> int:
    import wattmeter
    from wattmeter.export.prometheus import metrics_server

    options: dict[str, Any] = dict(
        budgets=budgets, ledger_path=args.ledger, ledger_flush_s=0.2, prometheus=True,
        metric_labels=["feature"], **_BASE_OPTIONS)
    port = args.port
    if port and not _port_free(port):  # taken: any free one will do for a demo, and the
        print(f"note: port {port} is busy; serving /metrics on a free port",  # move is
              file=sys.stderr)  # no metering error (the exit status stays 0)
        port = 0
    wattmeter.configure(metrics_port=port, **options)
    server = metrics_server()
    return int(server.port) if server is not None else 0


def _port_free(port: int) -> bool:
    """Whether 127.0.0.1:port can be bound now (the metrics server binds the same way)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _table(per_team: dict[str, list[Any]], teams: list[str]) -> None:
    from .._equivalents import express, pick
    from .._numbers import plain

    rows = [("TEAM", "CALLS", "ENERGY (Wh)", "RANGE (Wh, p5-p95 summed)", "CO2e (g)", "EQUIVALENT")]
    fps_all = [f for team in teams for f in per_team.get(team, [])]
    eq = pick(sum(f.energy_wh for f in fps_all), sum(f.co2e_g for f in fps_all))
    for team in teams:  # one equivalent unit for the table, numbers without "0.00"
        fps = per_team.get(team, [])
        wh = sum(f.energy_wh for f in fps)
        lo = sum(f.energy_wh_low for f in fps)
        hi = sum(f.energy_wh_high for f in fps)
        g = sum(f.co2e_g for f in fps)
        rows.append((team, str(len(fps)), plain(wh), f"{plain(lo)} - {plain(hi)}", plain(g),
                     express(eq, wh, g)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print()
    for r in rows:
        print("  ".join(v.rjust(w) if 0 < i < 5 else v.ljust(w)
                        for i, (v, w) in enumerate(zip(r, widths, strict=True))).rstrip())


def _outro(port: int, ledger: str, events: list[str]) -> None:
    print(f"\nBudget events: {len(events)}" + "".join(f"\n  - {e}" for e in events))
    scrape = ("prometheus --config.file=grafana/prometheus/prometheus-local.yml scrapes it"
              if port == LOCAL_SCRAPE_PORT else
              f"grafana/prometheus/prometheus-local.yml scrapes 127.0.0.1:{LOCAL_SCRAPE_PORT}: "
              f"set its target to 127.0.0.1:{port}, or run the demo with --port "
              f"{LOCAL_SCRAPE_PORT}")
    print(f"\nNext:\n  wattmeter budgets --ledger {ledger}\n  wattmeter report --ledger {ledger}"
          f"\n  wattmeter report --ledger {ledger} --html report.html   (charts: pip install "
          "'wattmeter[report]')"
          f"\n  /metrics was at 127.0.0.1:{port}; to scrape a run, add --hold 60: {scrape}.")
