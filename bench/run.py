"""`make bench`: how close Beebeta comes to what the machine and the framework allow.

    python -m bench.run [--quick] [--out bench/]

Brings up the benchmark's stack on loopback (bench/stack.py: deploy/'s nginx and gunicorn
configs, MariaDB, two memcached), seeds it (bench/seed.py), then loads every rung of the
ladder with wrk in interleaved rounds (A B C ... A B C ...), so that a machine that gets busier
or quieter during the run moves every rung alike. Each run of a rung records the requests
answered and the CPU time the servers spent (bench/cpu.py); the report takes the median over
the rounds, with the spread (lowest and highest), and states every target as a ratio measured
in the same run. At the end it checks that every count shown equals the vote rows in MySQL
and that no vote was lost or doubled. Writes RESULTS.md and results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import runpy
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import cpu, report  # noqa: E402
from bench.seed import CHOICES  # noqa: E402
from bench.stack import PEERS, BenchStack  # noqa: E402
from deploy.stack.topology import CSRF_COOKIE, SESSION_COOKIE  # noqa: E402

LUA = Path(__file__).resolve().parent / "lua"
THREADS = 2
# Connections per run, for reads and votes alike, and the raw INSERT ceiling's threads: more
# than the app server's workers, so that none of them ever waits for work.
CONNECTIONS = 8


@dataclass(frozen=True)
class Scale:
    questions: int
    crowd: int
    voters: int
    rounds: int
    seconds: int
    half_load_rounds: int


FULL = Scale(questions=100_000, crowd=1_000_000, voters=12_000, rounds=5, seconds=3,
             half_load_rounds=3)  # fmt: skip
QUICK = Scale(questions=20_000, crowd=20_000, voters=4_000, rounds=2, seconds=1,
              half_load_rounds=1)  # fmt: skip


@dataclass(frozen=True)
class Rung:
    name: str
    label: str
    # Which nginx + gunicorn pair answers (bench/stack.py), or "static" for nginx alone.
    server: str
    kind: str = "get"  # get, vote-spread, vote-hot, vote-page, raw-insert
    path: str = ""
    member: bool = False


@dataclass
class Run:
    requests: int
    seconds: int
    cpu_seconds: float
    machine_seconds: float
    statuses: dict[str, int]
    errors: int
    p50_ms: float
    p99_ms: float
    sent: int = 0
    answered: int = 0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_us(self) -> float:
        return 1e6 * self.cpu_seconds / self.requests if self.requests else float("inf")


@dataclass
class Bench:
    stack: BenchStack
    scale: Scale
    seeded: dict
    runs: dict[str, list[Run]] = field(default_factory=dict)
    # Next unused pair number of each server's vote series (bench/lua/vote.lua): each app keeps
    # its own votes, so each has the whole series of fresh (voter, question) pairs.
    offsets: dict[tuple[str, str], int] = field(default_factory=dict)
    raw_next_ballot: int = 1
    environment: dict = field(default_factory=dict)

    # --- the servers -------------------------------------------------------------------------

    def pids(self, server: str) -> list[int]:
        procs = self.stack.procs
        shared = [procs[name].pid for name in ("mariadb", "memcached-1", "memcached-2")]
        if server == "static":
            return [procs["nginx-app"].pid, *shared]
        if server == "database":
            return [procs["mariadb"].pid]
        return [procs[f"nginx-{server}"].pid, procs[f"gunicorn-{server}"].pid, *shared]

    def url(self, server: str) -> str:
        return self.stack.url_of("app" if server == "static" else server)

    def member_cookie(self) -> str:
        session, csrf = self.seeded["voters"][-1]
        return f"{SESSION_COOKIE}={session}; {CSRF_COOKIE}={csrf}"

    # --- one run -------------------------------------------------------------------------------

    def measure(self, rung: Rung, *, seconds: float, delay_ms: float = 0.0) -> Run:
        if rung.kind == "raw-insert":
            return self._raw_inserts(seconds)
        env = {
            **os.environ,
            "BENCH_LUA_DIR": str(LUA),
            "BENCH_THREADS": str(THREADS),
            "BENCH_ORIGIN": self.stack.origin,
        }
        if rung.kind == "get":
            script = LUA / "get.lua"
            env |= {"BENCH_PATH": rung.path, "BENCH_COOKIE": self.member_cookie() * rung.member}
        else:
            # "Vote, then the page" votes over the spread questions, as spread votes do.
            series = "hot" if rung.kind == "vote-hot" else "spread"
            offset = (rung.server, series)
            script = LUA / "vote.lua"
            env |= {
                "BENCH_MODE": series,
                "BENCH_THEN_PAGE": "1" if rung.kind == "vote-page" else "0",
                "BENCH_START": str(self.offsets.get(offset, 0)),
                "BENCH_DELAY_MS": str(int(delay_ms)),
                "BENCH_VOTERS": str(self.stack.home / "voters.txt"),
                "BENCH_QUESTIONS": str(self.stack.home / f"questions-{series}.txt"),
            }
        argv = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{int(seconds)}s", "-s", str(script)]
        pids = self.pids(rung.server)
        before, machine_before = cpu.cpu_seconds(pids), cpu.machine_seconds()
        result = subprocess.run(  # noqa: S603 - wrk with our own arguments
            [*argv, self.url(rung.server)],
            env=env,
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            check=True,
        )
        after, machine_after = cpu.cpu_seconds(pids), cpu.machine_seconds()
        line = next(x for x in result.stdout.splitlines() if x.startswith("BENCH "))
        data = json.loads(line.removeprefix("BENCH "))
        statuses: dict[str, int] = {}
        for entry in data["statuses"]:
            for status, count in entry.items():
                statuses[status] = statuses.get(status, 0) + count
        if rung.kind != "get":
            self.offsets[offset] = self.offsets.get(offset, 0) + THREADS * max(data["sent"])
        return Run(
            # What a run achieved: answers that are not errors. A vote refused with a 5xx (a
            # deadlock) or a 4xx is counted in `answered` and in the statuses, not in the rate.
            requests=sum(n for status, n in statuses.items() if int(status) < 400),
            answered=data["requests"],
            seconds=data["duration_us"] / 1e6,
            cpu_seconds=after - before,
            machine_seconds=machine_after - machine_before,
            statuses=statuses,
            errors=data["errors"],
            p50_ms=data["p50_us"] / 1000,
            p99_ms=data["p99_us"] / 1000,
            sent=sum(data["sent"]),
        )

    def _raw_inserts(self, seconds: float) -> Run:
        """Vote rows INSERTed straight into MariaDB through mysqlclient, one per autocommitted
        statement, from CONNECTIONS threads: the write ceiling at the votes' concurrency."""
        question = self.seeded["paged"]["hot"]
        lock, counts, latencies = threading.Lock(), [0] * CONNECTIONS, []
        stop = threading.Event()
        connections = [self.stack.connect_database(autocommit=True) for _ in range(CONNECTIONS)]

        def insert(number: int) -> None:
            cursor = connections[number].cursor()
            mine = []
            while not stop.is_set():
                with lock:
                    ballot = self.raw_next_ballot
                    self.raw_next_ballot += 1
                began = time.perf_counter()
                cursor.execute(
                    "INSERT INTO bench_raw_vote (ballot_id, question_id, choice_id, slot) "
                    "VALUES (%s, %s, %s, 0)",
                    (ballot, question["id"], question["choices"][ballot % 4]),
                )
                mine.append(time.perf_counter() - began)
                counts[number] += 1
            with lock:
                latencies.extend(mine)

        workers = [threading.Thread(target=insert, args=(n,)) for n in range(CONNECTIONS)]
        pids = self.pids("database")
        before, machine_before = cpu.cpu_seconds(pids), cpu.machine_seconds()
        began = time.perf_counter()
        for worker in workers:
            worker.start()
        time.sleep(seconds)
        stop.set()
        for worker in workers:
            worker.join()
        elapsed = time.perf_counter() - began
        after, machine_after = cpu.cpu_seconds(pids), cpu.machine_seconds()
        for connection in connections:
            connection.close()
        latencies.sort()
        total = sum(counts)
        return Run(
            requests=total,
            seconds=elapsed,
            cpu_seconds=after - before,
            machine_seconds=machine_after - machine_before,
            statuses={"ok": total},
            errors=0,
            p50_ms=1000 * latencies[len(latencies) // 2] if latencies else 0.0,
            p99_ms=1000 * latencies[int(len(latencies) * 0.99)] if latencies else 0.0,
            sent=total,
        )

    # --- the whole run -----------------------------------------------------------------------

    def rounds(self, rungs: list[Rung], count: int, announce: Callable[[str], None]) -> None:
        for number in range(1, count + 1):
            for rung in rungs:
                run = self.measure(rung, seconds=self.scale.seconds)
                self.runs.setdefault(rung.name, []).append(run)
                announce(
                    f"round {number}/{count} {rung.name:<22} {run.rate:8.0f}/s "
                    f"{run.cpu_us:8.0f} µs CPU/request  {run.statuses}"
                )


def ladder(seeded: dict) -> list[Rung]:
    """Every rung measured in the interleaved rounds, in the order each round runs them."""
    paged, tags, deep = seeded["paged"], seeded["tags"], seeded["deep_page"]
    question = f"/q/{paged['thousand']['slug']}/"
    million = f"/q/{paged['million']['slug']}/"
    every, few = f"/tags/{tags['every']}/", f"/tags/{tags['few']}/"
    deep_path = f"{every}?order=trending&after={deep['after']}"
    rungs = [
        Rung("static", "nginx: a static file the size of a question page", "static",
             path="/static/bench/page.html"),
        Rung("bare", "Django, no middleware: one view", "bare", path="/bench/bare/"),
        Rung("hello", "Hello through the stack, anonymous", "hello", path="/bench/hello/"),
        Rung("hello-member", "Hello through the stack, signed in", "hello",
             path="/bench/hello/", member=True),
    ]  # fmt: skip
    for name, label, path in [
        ("home", "Home list, page 1", "/"),
        ("tag", f"Tag page ({seeded['questions']:,} questions), page 1", every),
        ("question", "Question page (1,000 votes)", question),
    ]:
        # Anonymous tag and question pages come from nginx's cache (beebeta/edge.py).
        where = "" if name == "home" else " (nginx's cache)"
        rungs.append(Rung(name, f"{label}, anonymous{where}", "app", path=path))
        rungs.append(Rung(f"{name}-member", f"{label}, signed in", "app", path=path, member=True))
    for server, suffix in (("app", ""), ("cold", "-cold")):
        state = "warm" if server == "app" else "cold (no cache)"
        rungs += [
            Rung(f"question-million{suffix}",
                 f"Question page ({seeded['crowd']:,} votes), {state}", server, path=million),
            Rung(f"tag-few{suffix}", f"Tag page (100 questions), page 1, {state}", server,
                 path=few),
            Rung(f"tag-deep{suffix}", f"Tag page, page {deep['page']:,}, {state}", server,
                 path=deep_path),
        ]  # fmt: skip
        if server == "cold":
            rungs += [
                Rung("question-cold", f"Question page (1,000 votes), {state}", server,
                     path=question),
                Rung("tag-cold", f"Tag page ({seeded['questions']:,} questions), page 1, "
                     f"{state}", server, path=every),
            ]  # fmt: skip
    rungs += [
        Rung("vote-spread", f"Vote POSTs over {len(seeded['spread'])} questions", "app",
             kind="vote-spread"),
        Rung("vote-hot", "Vote POSTs, everyone on one question", "app", kind="vote-hot"),
        Rung("vote-page", "Vote, then the question page (signed in)", "app", kind="vote-page"),
        Rung("raw-insert", "Raw vote INSERTs through mysqlclient", "database",
             kind="raw-insert"),
    ]  # fmt: skip
    for peer, name in (("dedupe", "Dedupe peer"), ("tutorial", "Tutorial peer")):
        rungs += [
            Rung(f"{peer}-question", f"{name}: question page (1,000 votes), signed in", peer,
                 path=question, member=True),
            Rung(f"{peer}-vote-spread", f"{name}: vote POSTs over {len(seeded['spread'])} "
                 "questions", peer, kind="vote-spread"),
            Rung(f"{peer}-vote-hot", f"{name}: vote POSTs, everyone on one question", peer,
                 kind="vote-hot"),
            Rung(f"{peer}-vote-page", f"{name}: vote, then the question page", peer,
                 kind="vote-page"),
        ]  # fmt: skip
    return rungs


def prepare(stack: BenchStack, seeded: dict, rungs: list[Rung]) -> None:
    """Files wrk and the ladder's views read, the raw INSERT table, and one request per page
    (each must answer 200) so every rung starts warm."""
    home = stack.home
    voters = "".join(f"{session} {csrf}\n" for session, csrf in seeded["voters"])
    (home / "voters.txt").write_text(voters)
    hot = seeded["paged"]["hot"]
    (home / "questions-hot.txt").write_text(" ".join(map(str, [hot["slug"], *hot["choices"]])))
    (home / "questions-spread.txt").write_text(
        "".join(" ".join(map(str, [q["slug"], *q["choices"]])) + "\n" for q in seeded["spread"])
    )
    page = fetch(stack.url_of("app") + f"/q/{seeded['paged']['thousand']['slug']}/")
    folder = home / "static" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "page.html").write_bytes(page)
    connection = stack.connect_database()
    try:
        connection.cursor().execute("CREATE TABLE bench_raw_vote LIKE polls_vote")
    finally:
        connection.close()
    cookie = {SESSION_COOKIE: seeded["voters"][-1][0]}
    for rung in rungs:
        if rung.kind == "get":
            server = "app" if rung.server == "static" else rung.server
            fetch(stack.url_of(server) + rung.path, cookie if rung.member else None)
    # A vote comes from a page the voter was just shown: each voter loads a question page once,
    # as a browser does before it can post the form, so a vote finds the session and the account
    # where that page left them (memcached) rather than being the session's first request.
    shown = stack.url_of("app") + f"/q/{hot['slug']}/"
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda voter: fetch(shown, {SESSION_COOKIE: voter[0]}), seeded["voters"]))


def fetch(url: str, cookies: dict[str, str] | None = None) -> bytes:
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.200.0.2"}
    if cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback only
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}")
        return response.read()


def half_load(bench: Bench, announce: Callable[[str], None]) -> None:
    """Votes at about half the peak rate: each connection pauses so that together they send
    half of what the spread votes reached, and wrk records the latency of each vote."""
    peak = statistics.median(run.rate for run in bench.runs["vote-spread"])
    # Below the peak a vote takes about a worker's time per vote; the pause makes up the rest.
    workers = bench.environment["configuration"]["gunicorn_workers"]
    service_ms = 1000 * workers / peak
    pause = max(1000 * CONNECTIONS / (peak / 2) - service_ms, 0.0)
    rung = Rung("vote-half-load", "Vote POSTs at half the peak rate", "app", kind="vote-spread")
    for number in range(1, bench.scale.half_load_rounds + 1):
        run = bench.measure(rung, seconds=max(bench.scale.seconds * 2, 2), delay_ms=pause)
        bench.runs.setdefault(rung.name, []).append(run)
        announce(
            f"half load {number}: {run.rate:.0f}/s (peak {peak:.0f}/s), p99 {run.p99_ms:.1f} ms"
        )


_VOTERS = re.compile(rb'<p class="voters"><strong>([\d,]+)</strong>')
_VOTES = re.compile(rb'<td class="num">([\d,]+)</td>')
# A row of Beebeta's results (most voted first): the choice's text, then its votes.
_ROW = re.compile(rb'<th scope="row">([^<]+?)(?: <span[^>]*>[^<]*</span>)*</th>.*?'
                  rb'<td class="num">([\d,]+)</td>', re.S)  # fmt: skip


def check_counts(bench: Bench) -> dict:
    """Every count shown equals the vote rows; no vote lost or doubled; counters equal rows."""
    stack, seeded = bench.stack, bench.seeded
    db = stack.connect_database()
    cursor = db.cursor()
    questions = [seeded["paged"]["hot"], *seeded["spread"], seeded["paged"]["thousand"],
                 seeded["paged"]["million"]]  # fmt: skip
    mismatched_pages = []
    for question in questions:
        cursor.execute(
            "SELECT choice_id, COUNT(*) FROM polls_vote WHERE question_id = %s GROUP BY choice_id",
            (question["id"],),
        )
        rows = dict(cursor.fetchall())
        cursor.execute(
            "SELECT COUNT(*) FROM polls_ballot WHERE question_id = %s", (question["id"],)
        )
        (ballots,) = cursor.fetchone()
        page = fetch(stack.url_of("app") + f"/q/{question['slug']}/")
        shown_voters = int(_VOTERS.search(page).group(1).replace(b",", b""))
        found = {text.decode(): int(n.replace(b",", b"")) for text, n in _ROW.findall(page)}
        shown = [found.get(text) for text in CHOICES]
        expected = [rows.get(choice, 0) for choice in question["choices"]]
        if shown != expected or shown_voters != ballots:
            mismatched_pages.append(
                {"slug": question["slug"], "shown": [shown_voters, shown],
                 "rows": [ballots, expected]}
            )  # fmt: skip
    voted = [seeded["paged"]["hot"]["id"], *(q["id"] for q in seeded["spread"])]
    marks = ", ".join(["%s"] * len(voted))
    cursor.execute(f"SELECT COUNT(*) FROM polls_vote WHERE question_id IN ({marks})", voted)  # noqa: S608
    (vote_rows,) = cursor.fetchone()
    cursor.execute(f"SELECT COUNT(*) FROM polls_ballot WHERE question_id IN ({marks})", voted)  # noqa: S608
    (ballot_rows,) = cursor.fetchone()
    cursor.execute(
        """SELECT COUNT(*) FROM (
               SELECT v.question_id, v.choice_id, v.n, t.total FROM
                 (SELECT question_id, choice_id, COUNT(*) n FROM polls_vote
                  GROUP BY question_id, choice_id) v
               LEFT JOIN (SELECT question_id, choice_id, SUM(votes) total FROM polls_choicetally
                  GROUP BY question_id, choice_id) t
               ON t.question_id = v.question_id AND t.choice_id = v.choice_id
               WHERE t.total IS NULL OR t.total <> v.n) wrong"""
    )
    (wrong_tallies,) = cursor.fetchone()
    cursor.execute(
        """SELECT COUNT(*) FROM (
               SELECT b.question_id FROM
                 (SELECT question_id, COUNT(*) n FROM polls_ballot GROUP BY question_id) b
               LEFT JOIN (SELECT question_id, SUM(voters) total FROM polls_questiontally
                  GROUP BY question_id) t ON t.question_id = b.question_id
               WHERE t.total IS NULL OR t.total <> b.n) wrong"""
    )
    (wrong_voters,) = cursor.fetchone()
    db.close()
    vote_runs = [run for name in ("vote-spread", "vote-hot", "vote-half-load", "vote-page")
                 for run in bench.runs.get(name, [])]  # fmt: skip
    confirmed, sent, refused = _vote_statuses(vote_runs)
    return {
        "questions_checked": len(questions),
        "pages_not_matching_rows": mismatched_pages,
        "votes_sent": sent,
        "votes_confirmed": confirmed,
        "votes_refused": refused,
        "vote_rows": vote_rows,
        "ballot_rows": ballot_rows,
        # Every vote is a first vote on its own ballot: a row per confirmed vote, at most one
        # per vote sent (the difference are votes wrk stopped waiting for at the end of a run).
        "lost": max(confirmed - vote_rows, 0),
        "doubled": max(vote_rows - sent, 0) + (vote_rows - ballot_rows),
        "choice_counters_not_matching_rows": wrong_tallies,
        "voter_counters_not_matching_rows": wrong_voters,
    }


def _vote_statuses(runs: list[Run]) -> tuple[int, int, int]:
    """Votes confirmed (302), sent, and answered otherwise; a page after a vote is a 200."""
    confirmed = sum(run.statuses.get("302", 0) for run in runs)
    sent = sum(run.sent for run in runs)
    refused = sum(n for run in runs for s, n in run.statuses.items() if s not in ("302", "200"))
    return confirmed, sent, refused


def check_peer(bench: Bench, peer: str) -> dict:
    """The same check for a peer: each page's counts equal its counters, and the counters
    account for every confirmed vote, no more than were sent (the tutorial peer keeps no rows:
    its counters are all there is); the dedupe peer's counters equal its vote rows."""
    seeded = bench.seeded
    questions = [seeded["paged"]["hot"], *seeded["spread"]]
    db = bench.stack.connect_database()
    cursor = db.cursor()
    mismatched_pages, counted = [], 0
    for question in questions:
        cursor.execute(
            f"SELECT id, votes FROM peer_{peer}_choice WHERE question_id = %s ORDER BY id",  # noqa: S608
            (question["id"],),
        )
        counters = [votes for _, votes in cursor.fetchall()]
        counted += sum(counters)
        page = fetch(bench.stack.url_of(peer) + f"/q/{question['slug']}/")
        shown = [int(v.replace(b",", b"")) for v in _VOTES.findall(page)]
        if shown != counters:
            mismatched_pages.append({"slug": question["slug"], "shown": shown, "rows": counters})
    ids = [question["id"] for question in questions]
    marks = ", ".join(["%s"] * len(ids))
    cursor.execute(f"SELECT COUNT(*) FROM peer_{peer}_vote WHERE question_id IN ({marks})", ids)  # noqa: S608
    (vote_rows,) = cursor.fetchone()
    cursor.execute(
        f"""SELECT COUNT(*) FROM peer_{peer}_choice c LEFT JOIN
             (SELECT choice_id, COUNT(*) n FROM peer_{peer}_vote GROUP BY choice_id) v
             ON v.choice_id = c.id
           WHERE c.votes <> COALESCE(v.n, 0) AND c.question_id IN ({marks})""",  # noqa: S608
        ids,
    )
    (wrong,) = cursor.fetchone()
    db.close()
    runs = [run for kind in ("vote-spread", "vote-hot", "vote-page")
            for run in bench.runs.get(f"{peer}-{kind}", [])]  # fmt: skip
    confirmed, sent, refused = _vote_statuses(runs)
    dedupe = peer == "dedupe"
    return {
        "questions_checked": len(questions),
        "pages_not_matching_counters": mismatched_pages,
        "votes_sent": sent,
        "votes_confirmed": confirmed,
        "votes_refused": refused,
        "votes_counted": counted,
        "vote_rows": vote_rows if dedupe else None,
        "lost": max(confirmed - counted, 0),
        "doubled": max(counted - sent, 0),
        "counters_not_matching_rows": wrong if dedupe else None,
    }


def environment(stack: BenchStack, scale: Scale, seed_seconds: float) -> dict:
    def version(*argv: str) -> str:
        found = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
        return (found.stdout + found.stderr).strip().splitlines()[0]

    import django
    import gunicorn

    cpu_model = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")), platform.machine()
    )  # fmt: skip
    memory = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    # Our own config file, run as gunicorn runs it, to report the values it settles on here.
    gunicorn_conf = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    return {
        "machine": {
            "cpu": cpu_model,
            "cores": os.cpu_count(),
            "memory_gib": round(int(memory) / 1024 / 1024, 1),
            "kernel": platform.release(),
            "load_average_at_start": os.getloadavg(),
        },
        "versions": {
            "python": platform.python_version(),
            "django": django.get_version(),
            "gunicorn": gunicorn.__version__,
            "nginx": version(shutil.which("nginx") or "/usr/sbin/nginx", "-v"),
            "mariadb": version(shutil.which("mariadbd") or "/usr/sbin/mariadbd", "--version"),
            "memcached": version(shutil.which("memcached") or "/usr/bin/memcached", "-V"),
            "wrk": version("wrk", "-v"),
        },
        "configuration": {
            "gunicorn_workers": gunicorn_conf["workers"],
            "gunicorn_worker_class": gunicorn_conf["worker_class"],
            "gunicorn_max_requests": gunicorn_conf["max_requests"],
            "wrk": f"{THREADS} threads, {CONNECTIONS} connections, {scale.seconds} s per run",
            "rounds": scale.rounds,
            "questions": scale.questions,
            "crowd_votes": scale.crowd,
            "voters": scale.voters,
            "seed_seconds": round(seed_seconds, 1),
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--quick", action="store_true", help="small data, short rounds")
    parser.add_argument(
        "--out", type=Path, help="where the reports go (default bench/, quick: bench/out/)"
    )
    options = parser.parse_args(argv)
    scale = QUICK if options.quick else FULL
    began = time.monotonic()

    def announce(message: str) -> None:
        print(f"bench {time.monotonic() - began:5.0f}s: {message}", file=sys.stderr, flush=True)

    stack = BenchStack.up(announce=announce)
    try:
        seed_began = time.monotonic()
        stack.run_python(
            "-m", "bench.seed", str(stack.home / "seed.json"),
            "--questions", str(scale.questions), "--crowd", str(scale.crowd),
            "--voters", str(scale.voters), timeout=600,
        )  # fmt: skip
        seed_seconds = time.monotonic() - seed_began
        announce(f"seeded in {seed_seconds:.0f} s")
        seeded = json.loads((stack.home / "seed.json").read_text())
        stack.set_up_peers(stack.home / "seed.json")
        rungs = ladder(seeded)
        prepare(stack, seeded, rungs)
        bench = Bench(stack, scale, seeded, environment=environment(stack, scale, seed_seconds))
        bench.rounds(rungs, scale.rounds, announce)
        half_load(bench, announce)
        checked = check_counts(bench)
        checked["peers"] = {peer: check_peer(bench, peer) for peer in PEERS}
        announce(f"correctness: {json.dumps(checked)}")
        results = {
            "quick": options.quick,
            **bench.environment,
            "rungs": {
                rung.name: {"label": rung.label, "runs": [asdict(r) for r in bench.runs[rung.name]]}
                for rung in [
                    *rungs,
                    Rung(
                        "vote-half-load",
                        "Vote POSTs at half the peak rate",
                        "app",
                        kind="vote-spread",
                    ),
                ]
            },  # fmt: skip
            "correctness": checked,
            "wall_seconds": round(time.monotonic() - began, 1),
        }
        out = options.out or (ROOT / "bench" / ("out" if options.quick else ""))
        written = report.write(results, out)
        announce(f"wrote {written}")
    finally:
        stack.down()
    refused = refused_rungs(bench)
    if refused:
        # A rung that nothing answered measured nothing: its ratios would compare with zero.
        announce(f"no answer below 400 in any run of: {', '.join(refused)}")
        return 1
    return 0


def refused_rungs(bench: Bench) -> list[str]:
    """The rungs of which no run got a single answer that was not an error."""
    return [name for name, runs in bench.runs.items() if not any(run.requests for run in runs)]


if __name__ == "__main__":
    sys.exit(main())
