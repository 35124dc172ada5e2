"""A storm of repeated votes through the whole stack loses none, doubles none, keeps the last.

The requirement: 500 voters on 20 questions, each vote sent three times concurrently with mixed
choices: 0 votes lost, 0 doubled, 0 responses 5xx; the stored vote of each (user, question) is the
last acknowledged one.

How it is tested, and why:

- **The cast** (tests/stack/storm_setup.py, run in the stack's own environment): 500 accounts with
  unusable passwords and a logged-in session each, made as ``login`` makes them (500 password
  hashes would cost more than the storm), and 20 fresh published questions with 3 or 4 choices;
  one in four takes up to two choices, so multi-row ballots race too.
- **The storm**: each voter, from its own address in 127.77.0.0/16 (nginx limits POSTs per
  address), reads one question page for its CSRF pair, then votes on two questions. A vote is
  three POSTs with three different choice sets, each on its own TLS connection, released
  together by a barrier: first votes race for the ballot, and changes race for its lock. Sixteen
  voters at a time keep up to 48 POSTs in flight; every question gets 50 voters. Each voter sends
  8 POSTs in all, far inside both vote limits (nginx: burst 20 per address; Django: 30 a minute
  per account), so there is no refusal to expect: every POST must be acknowledged, a 302 to the
  question's page, and anything else (a 429, a 400, a 5xx, a dropped connection) fails the test.
- **"Last" is the server's order, not the client's.** The client cannot tell which of three
  concurrent requests committed last (the replies arrive in any order), and the vote path keeps
  no order of its own: ``Ballot.updated_at`` is the request's start time, taken before the lock,
  and a vote that changes nothing leaves it as it is. So two triggers on the vote rows log every
  insert and delete into a side table in the vote's own transaction (tests/stack/storm.py,
  ``VoteLog``): rolled-back attempts (deadlock retries, the loser of a first-vote race) leave
  nothing, and each ballot's writes appear in the order its lock let them through. Per ballot,
  every acknowledged POST must appear exactly once with its choices, nothing else may, each write
  must replace the previous rows (never add to them), a POST acknowledged before another was sent
  must come first, and the stored rows must be the last write. The triggers go when the test ends.
- **Then one sequential vote** per ballot, for a choice set other than the stored one: MySQL
  must hold exactly it, as the last write. Its redirect is followed, as a browser does, and the
  figure counts the pages that did not mark it as the voter's choice. That is reported rather
  than asserted: the vote deletes the cached ballot after it commits, and a delete dropped by a
  slow memcached (0.25 s timeout, then the node is skipped for 10 s by that worker) leaves the
  old one cached; on a loaded machine that happens now and then.
- **Finally MySQL and the pages**: one ballot per (user, question), its rows as acknowledged,
  every counter (choice tallies, voter tallies, hourly first votes) equal to the rows, and the
  counts each question page shows an anonymous visitor equal to MySQL's: at once normally, and
  within COUNTS_CACHE_SECONDS, the bound the README gives, when a delete was dropped.

The questions stay published and open afterwards, like any other question on the site.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html import unescape
from pathlib import Path

import MySQLdb
import pytest

from deploy.stack.topology import Stack
from tests.stack.clients import log_lines, request, through_balancer
from tests.stack.storm import (
    BallotHistory,
    Post,
    StormQuestion,
    VoteLog,
    Voter,
    choice_sets,
    connect_database,
    judge,
    query,
    read_csrf,
    source_address,
    vote_at_once,
    vote_once,
)

VOTERS = 500
QUESTIONS = 20
QUESTIONS_PER_VOTER = 2
COPIES = 3
PARALLEL_VOTERS = 16
# The stack's settings.COUNTS_CACHE_SECONDS (its default).
COUNTS_CACHE_SECONDS = 60
# An anonymous reader of the results, on an address of its own.
READER_ADDRESS = "127.77.255.1"
_RETRIED = "vote transaction retried after MySQL error"
_MINE = re.compile(r'<tr class="mine">\s*<th scope="row">(?:<img[^>]*> )?([^<]+?) <span')
_VOTERS_LINE = re.compile(r'<p class="voters"><strong>([\d,]+)</strong>')
_RESULT_ROW = re.compile(
    r'<th scope="row">(?:<img[^>]*> )?([^<]+?)(?: <span[^>]*>[^<]*</span>)?</th>.*?'
    r'<td class="num">([\d,]+)</td>',
    re.S,
)


@dataclass
class Cast:
    voters: list[Voter]
    questions: list[StormQuestion]

    def questions_of(self, number: int) -> list[StormQuestion]:
        """Voter ``number``'s questions: 50 voters on each, spread so every question is busy."""
        step = QUESTIONS // QUESTIONS_PER_VOTER
        return [self.questions[(number + k * step) % QUESTIONS] for k in range(QUESTIONS_PER_VOTER)]

    @property
    def question_ids(self) -> tuple[int, ...]:
        return tuple(question.id for question in self.questions)


@pytest.fixture(scope="module")
def cast(stack: Stack) -> Cast:
    output = stack.run_python(
        "-m",
        "tests.stack.storm_setup",
        f"--voters={VOTERS}",
        f"--questions={QUESTIONS}",
        f"--run={secrets.token_hex(3)}",
    )
    made = json.loads(output.strip().splitlines()[-1])
    voters = [
        Voter(user_id=person["id"], session=person["session"], source=source_address(number))
        for number, person in enumerate(made["voters"])
    ]
    questions = [
        StormQuestion(
            id=question["id"],
            slug=question["slug"],
            max_choices=question["max_choices"],
            choices=tuple(choice["id"] for choice in question["choices"]),
            texts=tuple(choice["text"] for choice in question["choices"]),
        )
        for question in made["questions"]
    ]
    return Cast(voters, questions)


@pytest.fixture
def database(stack: Stack):
    connection = connect_database(stack)
    yield connection
    connection.close()


@pytest.fixture
def vote_log(database) -> Iterable[VoteLog]:
    log = VoteLog(database)
    log.install()
    try:
        yield log
    finally:
        log.remove()


def in_parallel(cast: Cast, step: Callable[[int, Voter], list[Post]]) -> list[Post]:
    with ThreadPoolExecutor(PARALLEL_VOTERS) as pool:
        batches = pool.map(step, range(len(cast.voters)), cast.voters)
        return [post for batch in batches for post in batch]


def retried_transactions(stack: Stack) -> int:
    return sum(
        Path(stack.procs[name].log).read_text(errors="replace").count(_RETRIED)
        for name in ("gunicorn-1", "gunicorn-2")
    )


def taken_out(stack: Stack) -> int:
    """How many times HAProxy has taken an nginx out because its health check timed out."""
    lines = log_lines(stack.procs["haproxy"].log)
    return sum(
        line.startswith("Server nginx/") and "is DOWN, reason: Layer7 timeout" in line
        for line in lines
    )


def unacknowledged(posts: list[Post]) -> list[str]:
    statuses = Counter(post.error.split(":")[0] if post.error else post.status for post in posts)
    failed = [post.describe() for post in posts if not post.acknowledged]
    return [f"{len(failed)} of {len(posts)} not acknowledged ({dict(statuses)})", *failed[:20]]


# --- What MySQL holds -----------------------------------------------------------------------


def ballots(database: MySQLdb.Connection, cast: Cast) -> dict[tuple[int, int], int]:
    """(user id, question id) -> ballot id, for the storm's questions; none may be doubled."""
    rows = query(
        database,
        "SELECT user_id, question_id, id FROM polls_ballot WHERE question_id IN %s",
        [cast.question_ids],
    )
    found = {(user, question): ballot for user, question, ballot in rows}
    assert len(found) == len(rows), "two ballots for one (user, question)"
    return found


def stored_votes(database: MySQLdb.Connection, cast: Cast) -> dict[int, tuple[int, ...]]:
    """ballot id -> its choice ids by slot; slots must run 0, 1, ... with no repeat."""
    rows = query(
        database,
        "SELECT ballot_id, choice_id, slot FROM polls_vote WHERE question_id IN %s"
        " ORDER BY ballot_id, slot",
        [cast.question_ids],
    )
    stored: dict[int, tuple[int, ...]] = {}
    for ballot_id, choice_id, slot in rows:
        held = stored.get(ballot_id, ())
        assert slot == len(held), f"ballot {ballot_id}: slot {slot} after {len(held)} rows"
        stored[ballot_id] = (*held, choice_id)
    return stored


def phase_problems(
    posts: list[Post],
    ballot_of: dict[tuple[int, int], int],
    histories: dict[int, BallotHistory],
    stored: dict[int, tuple[int, ...]],
) -> list[str]:
    """Everything wrong between one phase's POSTs, the writes they committed and the rows."""
    by_ballot: dict[tuple[int, int], list[Post]] = {}
    for post in posts:
        by_ballot.setdefault((post.user_id, post.question.id), []).append(post)
    problems = []
    for (user, question), sent in by_ballot.items():
        ballot = ballot_of.get((user, question))
        if ballot is None:
            problems.append(f"no ballot for user {user} on question {question}")
            continue
        history = histories.get(ballot, BallotHistory())
        problems += [f"ballot {ballot}: {anomaly}" for anomaly in history.anomalies]
        problems += [f"ballot {ballot}: {problem}" for problem in judge(sent, history.writes)]
        last = set(history.writes[-1]) if history.writes else set()
        if set(stored.get(ballot, ())) != last:
            problems.append(f"ballot {ballot}: stores {stored.get(ballot)}, last write {last}")
    return problems


# Each counter (summed over its shards) and what it must equal, as (name, counted, rows): both
# queries give (key, number) for the storm's questions.
_COUNTERS = (
    (
        "votes of choice",
        "SELECT choice_id, SUM(votes) FROM polls_choicetally WHERE question_id IN %s"
        " GROUP BY choice_id",
        "SELECT choice_id, COUNT(*) FROM polls_vote WHERE question_id IN %s GROUP BY choice_id",
    ),
    (
        "voters of question",
        "SELECT question_id, SUM(voters) FROM polls_questiontally WHERE question_id IN %s"
        " GROUP BY question_id",
        "SELECT question_id, COUNT(*) FROM polls_ballot WHERE question_id IN %s"
        " GROUP BY question_id",
    ),
    (
        "hourly first votes of question",
        "SELECT question_id, SUM(votes) FROM polls_voteactivity WHERE question_id IN %s"
        " GROUP BY question_id",
        "SELECT question_id, COUNT(*) FROM polls_ballot WHERE question_id IN %s"
        " GROUP BY question_id",
    ),
)


def counter_problems(database: MySQLdb.Connection, cast: Cast) -> list[str]:
    """Every counter of the storm's questions against the vote rows."""
    problems = []
    for name, counted_sql, rows_sql in _COUNTERS:
        counted = dict(query(database, counted_sql, [cast.question_ids]))
        rows = dict(query(database, rows_sql, [cast.question_ids]))
        for key in counted.keys() | rows.keys():
            if int(counted.get(key, 0)) != int(rows.get(key, 0)):
                problems.append(f"{name} {key}: {counted.get(key, 0)}, rows {rows.get(key, 0)}")
    return problems


# --- What the pages show --------------------------------------------------------------------


def page(stack: Stack, path: str, *, source: str, cookie: str = "") -> str:
    connection = through_balancer(stack, source=source)
    try:
        answer = request(connection, "GET", path, headers={"Cookie": cookie} if cookie else {})
    finally:
        connection.close()
    assert answer.status == 200, f"{path}: {answer.status}"
    return answer.body.decode()


def shown_counts(stack: Stack, question: StormQuestion) -> tuple[int, dict[int, int]]:
    """The voters and the votes per choice that an anonymous visitor sees."""
    html = page(stack, question.path, source=READER_ADDRESS)
    voters = _VOTERS_LINE.search(html)
    assert voters, f"no results on {question.path}"
    by_text = {unescape(text): int(n.replace(",", "")) for text, n in _RESULT_ROW.findall(html)}
    votes = {
        choice: by_text.get(text, -1)
        for choice, text in zip(question.choices, question.texts, strict=True)
    }
    return int(voters.group(1).replace(",", "")), votes


def follow_as_browser(stack: Stack, voter: Voter, post: Post) -> tuple[int, ...]:
    """Follow the vote's redirect as the voter: the choices the page marks as theirs."""
    html = page(stack, post.location, source=voter.source, cookie=voter.cookie_header())
    text_to_id = dict(zip(post.question.texts, post.question.choices, strict=True))
    return tuple(sorted(text_to_id[unescape(text)] for text in _MINE.findall(html)))


# --- The phases -----------------------------------------------------------------------------


def assert_none(problems: list[str], what: str) -> None:
    assert not problems, f"{len(problems)} {what}:\n" + "\n".join(problems[:20])


def storm(stack: Stack, cast: Cast) -> list[Post]:
    """Every voter reads a page for its CSRF pair, then sends each of its votes three times
    at once with three different choice sets."""

    def voter_storm(number: int, voter: Voter) -> list[Post]:
        questions = cast.questions_of(number)
        read_csrf(stack, voter, questions[0])
        turn = number // QUESTIONS  # rotates which copy carries which choice
        return [
            post
            for question in questions
            for post in vote_at_once(stack, voter, question, choice_sets(question, turn)[:COPIES])
        ]

    return in_parallel(cast, voter_storm)


def final_votes(
    stack: Stack, cast: Cast, ballot_of: dict[tuple[int, int], int], stored: dict[int, tuple]
) -> tuple[list[Post], list[str]]:
    """One more vote per ballot, alone, for a choice set other than the stored one. Its redirect
    is followed as a browser does; the pages that did not mark exactly that choice set as the
    voter's are returned with the POSTs."""

    def voter_final(number: int, voter: Voter) -> list[tuple[Post, str]]:
        done = []
        for question in cast.questions_of(number):
            held = set(stored[ballot_of[(voter.user_id, question.id)]])
            choices = next(s for s in choice_sets(question, number) if set(s) != held)
            post = vote_once(stack, voter, Post(voter.user_id, question, choices))
            stale = ""
            if post.acknowledged:
                shown = follow_as_browser(stack, voter, post)
                if shown != tuple(sorted(choices)):
                    stale = f"the page showed {list(shown)} after {post.describe()}"
            done.append((post, stale))
        return done

    with ThreadPoolExecutor(PARALLEL_VOTERS) as pool:
        batches = pool.map(voter_final, range(len(cast.voters)), cast.voters)
        done = [pair for batch in batches for pair in batch]
    return [post for post, _ in done], [stale for _, stale in done if stale]


def wait_for_pages_to_match(
    stack: Stack, cast: Cast, ballot_of: dict[tuple[int, int], int], stored: dict[int, tuple]
) -> float:
    """Seconds until every question page shows an anonymous visitor MySQL's counts.

    A vote deletes the cached counts after it commits, so they normally match at once; a
    delete lost to a slow memcached leaves the old counts until they expire, after
    COUNTS_CACHE_SECONDS (README, "How votes stay right"), and no later."""
    started = time.monotonic()
    waiting = list(cast.questions)
    while True:
        mismatched = []
        for question in waiting:
            ballot_ids = [b for (_, q), b in ballot_of.items() if q == question.id]
            rows = Counter(choice for ballot in ballot_ids for choice in stored[ballot])
            expected = (len(ballot_ids), {choice: rows[choice] for choice in question.choices})
            if (shown := shown_counts(stack, question)) != expected:
                mismatched.append((question, f"{question.path}: {shown}, MySQL {expected}"))
        waited = time.monotonic() - started
        if not mismatched:
            return waited
        assert waited < COUNTS_CACHE_SECONDS + 15, [problem for _, problem in mismatched]
        waiting = [question for question, _ in mismatched]
        time.sleep(2)


def replies_out_of_commit_order(
    posts: list[Post], ballot_of: dict[tuple[int, int], int], histories: dict[int, BallotHistory]
) -> int:
    """Ballots whose last reply to arrive was not their last write: why "last" has to be the
    server's order."""
    last_reply: dict[int, Post] = {}
    for post in posts:
        ballot = ballot_of[(post.user_id, post.question.id)]
        if ballot not in last_reply or post.acked > last_reply[ballot].acked:
            last_reply[ballot] = post
    return sum(
        set(post.choices) != set(histories[ballot].writes[-1])
        for ballot, post in last_reply.items()
    )


# --- The test -------------------------------------------------------------------------------


def test_a_storm_of_repeated_votes_loses_none_doubles_none_and_keeps_the_last(
    stack, cast, database, vote_log, figure
):
    retried_before, taken_out_before = retried_transactions(stack), taken_out(stack)

    started = time.monotonic()
    storm_posts = storm(stack, cast)
    storm_seconds = time.monotonic() - started
    storm_end = vote_log.last_seq()
    assert all(post.acknowledged for post in storm_posts), unacknowledged(storm_posts)
    ballot_of = ballots(database, cast)
    assert len(ballot_of) == VOTERS * QUESTIONS_PER_VOTER
    after_storm = stored_votes(database, cast)
    histories = vote_log.histories(upto=storm_end)
    assert_none(phase_problems(storm_posts, ballot_of, histories, after_storm), "storm problems")
    out_of_order = replies_out_of_commit_order(storm_posts, ballot_of, histories)

    final_posts, stale_pages = final_votes(stack, cast, ballot_of, after_storm)
    assert all(post.acknowledged for post in final_posts), unacknowledged(final_posts)
    assert ballots(database, cast) == ballot_of
    stored = stored_votes(database, cast)
    histories = vote_log.histories(after=storm_end, holding=after_storm)
    assert_none(phase_problems(final_posts, ballot_of, histories, stored), "final vote problems")
    for post in final_posts:
        assert stored[ballot_of[(post.user_id, post.question.id)]] == post.choices

    assert_none(counter_problems(database, cast), "counters unlike the rows")
    for question in cast.questions:
        assert (
            sum(q == question.id for _, q in ballot_of) == VOTERS * QUESTIONS_PER_VOTER // QUESTIONS
        )
    pages_waited = wait_for_pages_to_match(stack, cast, ballot_of, stored)

    server_errors = sum(post.status >= 500 for post in storm_posts + final_posts)
    retried = retried_transactions(stack) - retried_before
    out = taken_out(stack) - taken_out_before
    figure(
        f"{VOTERS} voters x {QUESTIONS_PER_VOTER} questions x {COPIES} concurrent copies = "
        f"{len(storm_posts):,} POSTs in {storm_seconds:.0f} s, then {len(final_posts):,} "
        f"sequential: {server_errors} 5xx, 0 lost, 0 doubled, stored = last committed "
        f"acknowledgement for all {len(ballot_of):,} ballots; the last reply to arrive was not "
        f"the last write for {out_of_order} ballots; {retried} vote transactions retried after "
        f"a deadlock; HAProxy took an nginx out {out} time{'' if out == 1 else 's'} "
        f"after a health check timed out; {len(stale_pages)} of {len(final_posts):,} pages "
        "after a vote showed an older vote"
        f"{': ' + '; '.join(stale_pages[:3]) if stale_pages else ''}; "
        f"anonymous counts equal MySQL's after {pages_waited:.0f} s"
    )


def test_the_audit_names_lost_doubled_unsent_and_reordered_votes():
    """The storm's audit on made-up histories, so that a fault it should see cannot pass."""
    question = StormQuestion(1, "q", 1, (10, 11, 12), ("Lime", "Rowan", "Birch"))

    def acknowledged(choice: int, sent: float, acked: float) -> Post:
        return Post(7, question, (choice,), sent, acked, status=302, location=question.path)

    # The first was acknowledged before the other two were sent; those two raced.
    first, second, third = acknowledged(10, 1, 2), acknowledged(11, 3, 5), acknowledged(12, 3, 4)
    posts = [first, second, third]
    assert list(judge(posts, [(10,), (12,), (11,)])) == []
    assert list(judge(posts, [(10,), (11,), (12,)])) == []

    def named(writes: list[tuple[int, ...]]) -> str:
        return " | ".join(judge(posts, writes))

    assert named([(10,), (12,)]).startswith("lost: ")
    assert "committed 2 times" in named([(10,), (11,), (12,), (11,)])
    assert "a write nobody sent" in named([(10,), (11,), (12,), (10, 11)])
    assert "out of real-time order" in named([(11,), (10,), (12,)])
    refused = Post(7, question, (12,), 3, 0, status=429)
    assert "without an acknowledgement" in " ".join(judge([first, refused], [(10,), (12,)]))

    history = BallotHistory()
    for action, choice, slot in [("I", 10, 0), ("D", 10, 0), ("I", 11, 0), ("I", 12, 0)]:
        history.apply(action, choice, slot)
    assert history.writes == [(10,), (11,), (12,)]
    assert history.anomalies == ["new vote while holding [11]"]
