"""RESULTS.md and results.json from one benchmark run (bench/run.py).

Every figure is the median over the interleaved rounds, with its spread (lowest to highest).
Every target is a ratio of two rungs measured in the same rounds: the ratio is taken round by
round (the two runs of a round are seconds apart, under the same neighbours) and its median
and spread reported.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from pathlib import Path

# How each kind of figure is read from one run (a dict of bench.run.Run's fields). A run in
# which no request was answered has no CPU per request and no latency: it is left out of those
# figures (and counted as a stalled run), never read as a cost of zero.
FIGURES: dict[str, Callable[[dict], float | None]] = {
    "cpu_us": lambda run: 1e6 * run["cpu_seconds"] / run["requests"] if run["requests"] else None,
    "rate": lambda run: run["requests"] / run["seconds"] if run["seconds"] else 0.0,
    "p99_ms": lambda run: run["p99_ms"] if run["requests"] else None,
}

# (what, figure, numerator rung, denominator rung, bound, "max" or "min")
TARGETS = [
    # Against the peers (bench/peer/): the dedupe peer keeps one vote per person, as Beebeta does.
    ("Vote POSTs spread / dedupe peer, throughput", "rate", "vote-spread", "dedupe-vote-spread",
     1.5, "min"),
    ("Vote POSTs on one hot question / dedupe peer, throughput", "rate", "vote-hot",
     "dedupe-vote-hot", 1.5, "min"),
    ("Vote, then the question page / dedupe peer, throughput", "rate", "vote-page",
     "dedupe-vote-page", 1.5, "min"),
    ("Hello through the stack, signed in / anonymous", "cpu_us", "hello-member", "hello", 1.5,
     "max"),
    ("Hello through the stack / bare view (anonymous)", "cpu_us", "hello", "bare", 1.3, "max"),
    # Anonymous pages come from nginx's cache (beebeta/edge.py, deploy/nginx/beebeta.conf).
    ("Anonymous question page from nginx's cache / static file", "cpu_us", "question", "static",
     2.0, "max"),
    ("Warm home list / hello, anonymous", "cpu_us", "home", "hello", 1.3, "max"),
    ("Anonymous tag page from nginx's cache / static file", "cpu_us", "tag", "static", 2.0,
     "max"),
    ("Warm question page / hello, signed in", "cpu_us", "question-member", "hello-member", 1.3,
     "max"),
    ("Warm home list / hello, signed in", "cpu_us", "home-member", "hello-member", 1.3, "max"),
    ("Warm tag page / hello, signed in", "cpu_us", "tag-member", "hello-member", 1.3, "max"),
    ("Vote POSTs / raw INSERTs, throughput", "rate", "vote-spread", "raw-insert", 0.3, "min"),
    ("Votes on one hot question / spread, throughput", "rate", "vote-hot", "vote-spread", 0.9,
     "min"),
    ("Growth: question page, most votes / 1,000 votes, warm", "cpu_us", "question-million",
     "question", 1.1, "max"),
    ("Growth: question page, most votes / 1,000 votes, cold", "cpu_us",
     "question-million-cold", "question-cold", 1.1, "max"),
    ("Growth: list page 1, all questions / 100 questions, warm", "cpu_us", "tag", "tag-few",
     1.1, "max"),
    ("Growth: list page 1, all questions / 100 questions, cold", "cpu_us", "tag-cold",
     "tag-few-cold", 1.1, "max"),
    ("Growth: deep list page / page 1, warm", "cpu_us", "tag-deep", "tag", 1.5, "max"),
    ("Growth: deep list page / page 1, cold", "cpu_us", "tag-deep-cold", "tag-cold", 1.5, "max"),
]  # fmt: skip

P99_BOUND_MS = 25.0

# Ratios against the peers with no bound of their own, for the README: (what, figure, Beebeta's
# rung, the peer's rung).
PEER_RATIOS = [
    ("Vote POSTs spread / tutorial peer, throughput", "rate", "vote-spread",
     "tutorial-vote-spread"),
    ("Vote POSTs on one hot question / tutorial peer, throughput", "rate", "vote-hot",
     "tutorial-vote-hot"),
    ("Vote, then the question page / tutorial peer, throughput", "rate", "vote-page",
     "tutorial-vote-page"),
    ("Vote, then the question page / dedupe peer, server CPU", "cpu_us", "vote-page",
     "dedupe-vote-page"),
    ("Vote, then the question page / tutorial peer, server CPU", "cpu_us", "vote-page",
     "tutorial-vote-page"),
    ("Warm question page, signed in / dedupe peer's page, server CPU", "cpu_us",
     "question-member", "dedupe-question"),
]  # fmt: skip


def summary(values: list[float | None]) -> dict[str, float]:
    known = [value for value in values if value is not None]
    if not known:
        return {"median": float("nan"), "low": float("nan"), "high": float("nan")}
    return {"median": statistics.median(known), "low": min(known), "high": max(known)}


def figures(rung: dict) -> dict[str, dict[str, float]]:
    runs = rung["runs"]
    return {name: summary([read(run) for run in runs]) for name, read in FIGURES.items()}


def ratio(results: dict, figure: str, top: str, bottom: str) -> dict[str, float] | None:
    rungs = results["rungs"]
    if top not in rungs or bottom not in rungs:
        return None
    read = FIGURES[figure]
    pairs = zip(rungs[top]["runs"], rungs[bottom]["runs"], strict=False)
    values = [read(a) / read(b) for a, b in pairs if read(a) is not None and read(b)]
    return summary(values) if values else None


def evaluate(results: dict) -> list[dict]:
    verdicts = []
    for what, figure, top, bottom, bound, sense in TARGETS:
        found = ratio(results, figure, top, bottom)
        if found is None:
            continue
        met = found["median"] <= bound if sense == "max" else found["median"] >= bound
        verdicts.append(
            {"target": what, "bound": f"{'≤' if sense == 'max' else '≥'} {bound}", **found,
             "met": met}
        )  # fmt: skip
    half = results["rungs"].get("vote-half-load")
    if half:
        p99 = summary([run["p99_ms"] for run in half["runs"]])
        verdicts.append(
            {"target": "p99 vote latency at half the peak rate, ms", "bound": f"< {P99_BOUND_MS}",
             **p99, "met": p99["median"] < P99_BOUND_MS}
        )  # fmt: skip
    return verdicts


def _number(value: float) -> str:
    if value != value:  # NaN: no run of the rung answered anything
        return "–"
    if value >= 100:
        return f"{value:,.0f}"
    if value < 0.1:
        return f"{value:.3f}"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def _spread(found: dict[str, float]) -> str:
    return f"{_number(found['median'])} ({_number(found['low'])}–{_number(found['high'])})"


def markdown(results: dict, verdicts: list[dict]) -> str:
    env, conf = results["machine"], results["configuration"]
    load = ", ".join(f"{x:.2f}" for x in env["load_average_at_start"])
    lines = [
        "# Beebeta benchmark results" + (" (quick mode: not for quoting)" if results["quick"]
                                         else ""),
        "",
        "Written by `make bench` (bench/run.py); the numbers are in `results.json` next to this "
        "file. Medians over interleaved rounds, with the lowest and highest in brackets. CPU is "
        "the server processes' time per request from /proc (nginx, gunicorn master and workers, "
        "memcached, mariadbd), not wrk's.",
        "",
        f"- Machine: {env['cpu']}, {env['cores']} cores, {env['memory_gib']} GiB, Linux "
        f"{env['kernel']}; load average at start {load}",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in results["versions"].items()),
        f"- Configuration: gunicorn {conf['gunicorn_workers']} {conf['gunicorn_worker_class']} "
        f"workers (max_requests {conf['gunicorn_max_requests']}); wrk {conf['wrk']}; "
        f"{conf['rounds']} rounds; {conf['questions']:,} listed questions, "
        f"{conf['crowd_votes']:,} votes on the biggest question, {conf['voters']:,} signed-in "
        f"voters (seeded in {conf['seed_seconds']} s); the whole run took "
        f"{results['wall_seconds']:.0f} s.",
        "",
        "## Targets",
        "",
        "| target | bound | measured: median (low–high) | met |",
        "| --- | --- | --- | --- |",
    ]  # fmt: skip
    for verdict in verdicts:
        lines.append(
            f"| {verdict['target']} | {verdict['bound']} | {_spread(verdict)} | "
            f"{'yes' if verdict['met'] else '**no**'} |"
        )
    checked = results["correctness"]
    correct = (
        not checked["pages_not_matching_rows"] and checked["lost"] == 0
        and checked["doubled"] == 0 and checked["choice_counters_not_matching_rows"] == 0
        and checked["voter_counters_not_matching_rows"] == 0
    )  # fmt: skip
    for peer, found in checked.get("peers", {}).items():
        right = (
            not found["pages_not_matching_counters"] and found["lost"] == 0
            and found["doubled"] == 0 and not found["counters_not_matching_rows"]
        )  # fmt: skip
        lines.append(
            f"| The {peer} peer: every count shown equals its counters (and rows); no vote "
            f"lost or doubled | exact | {found['questions_checked']} pages checked, "
            f"{found['votes_confirmed']:,} votes confirmed, {found['votes_counted']:,} counted, "
            f"{found['lost']} lost, {found['doubled']} doubled | {'yes' if right else '**no**'} |"
        )
    lines.append(
        f"| Every count shown equals the vote rows; no vote lost or doubled | exact | "
        f"{checked['questions_checked']} pages checked, {checked['votes_confirmed']:,} votes "
        f"confirmed, {checked['vote_rows']:,} rows, {checked['lost']} lost, "
        f"{checked['doubled']} doubled | {'yes' if correct else '**no**'} |"
    )
    peer_lines = []
    for what, figure, top, bottom in PEER_RATIOS:
        found = ratio(results, figure, top, bottom)
        if found is not None:
            peer_lines.append(f"| {what} | {_spread(found)} |")
    if peer_lines:
        lines += [
            "",
            "## Against the peers, without a bound",
            "",
            "| ratio | median (low–high) |",
            "| --- | --- |",
            *peer_lines,
        ]
    lines += [
        "",
        "## The ladder",
        "",
        "| rung | requests/s | server CPU µs/request | p99 ms | statuses | stalled runs |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, rung in results["rungs"].items():
        found = figures(rung)
        statuses: dict[str, int] = {}
        for run in rung["runs"]:
            for status, count in run["statuses"].items():
                statuses[status] = statuses.get(status, 0) + count
        lines.append(
            f"| {rung['label']} (`{name}`) | {_spread(found['rate'])} | "
            f"{_spread(found['cpu_us'])} | {_spread(found['p99_ms'])} | "
            f"{', '.join(f'{k}: {v:,}' for k, v in sorted(statuses.items()))} | "
            f"{sum(1 for run in rung['runs'] if not run['requests'])} |"
        )
    lines += [
        "",
        "## Correctness at the end of the run",
        "",
        "```json",
        json.dumps(checked, indent=2),
        "```",
        "",
    ]
    notes = Path(__file__).with_name("NOTES.md")
    if notes.exists():
        lines += [notes.read_text().rstrip(), ""]
    return "\n".join(lines)


def write(results: dict, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    verdicts = evaluate(results)
    results = {**results, "targets": verdicts}
    (folder / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    path = folder / "RESULTS.md"
    path.write_text(markdown(results, verdicts))
    return path


def main(argv: list[str] | None = None) -> int:
    """Render RESULTS.md again from a results.json (after editing bench/NOTES.md, say)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.report", description=main.__doc__)
    parser.add_argument("results", type=Path, nargs="?", default=Path(__file__).with_name(
        "results.json"))  # fmt: skip
    options = parser.parse_args(argv)
    results = json.loads(options.results.read_text())
    results.pop("targets", None)
    print(write(results, options.results.parent))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
