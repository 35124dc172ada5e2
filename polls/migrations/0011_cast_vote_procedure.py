"""The vote in one round trip to MySQL: the stored procedure polls_cast_vote.

polls.services.cast_vote calls it on MySQL/MariaDB; other databases (SQLite under `make run`,
which has no round trips to save) take the ORM path, _write_ballot, which does the same
statements one by one. The procedure mirrors that function statement for statement, in the
same order (so the same locks in the same order): the choices with their question's state, the
ballot locked (or inserted), its votes, their removal and the ballot's time, the new votes, and
the counters. It answers one row: what happened, the question's choice limit and the ballot's
earlier choices, in slot order.

With p_own_transaction it begins and commits its own transaction (the caller is in autocommit
mode) and rolls it back on any error before passing the error on, so a deadlock or a duplicate
ballot reaches Python with its MySQL error code, as it would from the ORM. Without it, it runs
inside the caller's transaction. SQL SECURITY INVOKER: it runs with the privileges of whoever
calls it, never of whoever created it.
"""

from django.db import migrations

CREATE = """
CREATE PROCEDURE polls_cast_vote(
    IN p_user INT,
    IN p_question BIGINT,
    IN p_choices VARCHAR(255),
    IN p_count INT,
    IN p_now DATETIME(6),
    IN p_hour DATETIME(6),
    IN p_shard SMALLINT,
    IN p_own_transaction BOOLEAN
)
MODIFIES SQL DATA
SQL SECURITY INVOKER
cast_vote: BEGIN
    DECLARE v_status VARCHAR(20) DEFAULT NULL;
    DECLARE v_closes_at DATETIME(6) DEFAULT NULL;
    DECLARE v_limit INT DEFAULT NULL;
    DECLARE v_matched INT DEFAULT 0;
    DECLARE v_ballot BIGINT DEFAULT NULL;
    DECLARE v_previous VARCHAR(255) DEFAULT '';
    DECLARE v_previous_count INT DEFAULT 0;
    DECLARE v_kept INT DEFAULT 0;
    DECLARE v_slot INT DEFAULT 0;
    DECLARE v_choice BIGINT DEFAULT NULL;
    DECLARE v_delta INT DEFAULT 0;
    DECLARE v_done BOOLEAN DEFAULT FALSE;
    -- The counters' changes: +1 for each pick, -1 for each earlier one, none where both; in
    -- choice order, the order of the ORM's upsert (and so of its locks).
    DECLARE changes CURSOR FOR
        SELECT c.id, (FIND_IN_SET(c.id, p_choices) > 0) - (FIND_IN_SET(c.id, v_previous) > 0)
          FROM polls_choice c
         WHERE c.question_id = p_question
           AND (FIND_IN_SET(c.id, p_choices) > 0) <> (FIND_IN_SET(c.id, v_previous) > 0)
         ORDER BY c.id;
    -- A SELECT ... INTO that finds no row leaves the variable as it was (NULL); a cursor past
    -- its last row sets v_done.
    DECLARE CONTINUE HANDLER FOR NOT FOUND SET v_done = TRUE;
    DECLARE EXIT HANDLER FOR SQLEXCEPTION
    BEGIN
        IF p_own_transaction THEN
            ROLLBACK;
        END IF;
        RESIGNAL;
    END;

    IF p_own_transaction THEN
        START TRANSACTION;
    END IF;

    -- The question as MySQL has it now, and how many of the picks are its choices.
    SELECT q.status, q.closes_at, q.max_choices,
           (SELECT COUNT(*) FROM polls_choice c
             WHERE c.question_id = q.id AND FIND_IN_SET(c.id, p_choices) > 0)
      INTO v_status, v_closes_at, v_limit, v_matched
      FROM polls_question q
     WHERE q.id = p_question;
    IF v_status IS NULL OR v_status NOT IN ('published', 'closed') THEN
        IF p_own_transaction THEN ROLLBACK; END IF;
        SELECT 'not_open', v_limit, '';
        LEAVE cast_vote;
    END IF;
    IF v_status = 'closed' OR (v_closes_at IS NOT NULL AND v_closes_at <= p_now) THEN
        IF p_own_transaction THEN ROLLBACK; END IF;
        SELECT 'closed', v_limit, '';
        LEAVE cast_vote;
    END IF;
    IF p_count > v_limit THEN
        IF p_own_transaction THEN ROLLBACK; END IF;
        SELECT 'too_many', v_limit, '';
        LEAVE cast_vote;
    END IF;
    IF v_matched <> p_count THEN
        IF p_own_transaction THEN ROLLBACK; END IF;
        SELECT 'not_a_choice', v_limit, '';
        LEAVE cast_vote;
    END IF;

    SELECT b.id INTO v_ballot
      FROM polls_ballot b
     WHERE b.user_id = p_user AND b.question_id = p_question
       FOR UPDATE;
    IF v_ballot IS NULL THEN
        -- A concurrent first vote of the same account makes this a duplicate key error: the
        -- caller runs the vote again and finds that ballot.
        INSERT INTO polls_ballot (user_id, question_id, created_at, updated_at)
        VALUES (p_user, p_question, p_now, p_now);
        SET v_ballot = LAST_INSERT_ID();
    ELSE
        SELECT COALESCE(GROUP_CONCAT(v.choice_id ORDER BY v.slot SEPARATOR ','), ''),
               COUNT(*),
               COALESCE(SUM(FIND_IN_SET(v.choice_id, p_choices) > 0), 0)
          INTO v_previous, v_previous_count, v_kept
          FROM polls_vote v
         WHERE v.ballot_id = v_ballot;
        IF v_previous_count = p_count AND v_kept = p_count THEN
            IF p_own_transaction THEN ROLLBACK; END IF;
            SELECT 'unchanged', v_limit, v_previous;
            LEAVE cast_vote;
        END IF;
        DELETE FROM polls_vote WHERE ballot_id = v_ballot;
        UPDATE polls_ballot SET updated_at = p_now WHERE id = v_ballot;
    END IF;

    -- One row per pick, its slot its place in the voter's order. Row by row, never
    -- INSERT ... SELECT: that takes InnoDB's table-wide AUTO-INC lock for the whole statement
    -- (innodb_autoinc_lock_mode 1, the default), and concurrent votes then fail on it (1467).
    WHILE v_slot < p_count DO
        INSERT INTO polls_vote (ballot_id, question_id, choice_id, slot)
        VALUES (v_ballot, p_question,
                CAST(SUBSTRING_INDEX(SUBSTRING_INDEX(p_choices, ',', v_slot + 1), ',', -1)
                     AS UNSIGNED),
                v_slot);
        SET v_slot = v_slot + 1;
    END WHILE;

    SET v_done = FALSE;
    OPEN changes;
    count_changes: LOOP
        FETCH changes INTO v_choice, v_delta;
        IF v_done THEN
            LEAVE count_changes;
        END IF;
        INSERT INTO polls_choicetally (choice_id, shard, question_id, votes)
        VALUES (v_choice, p_shard, p_question, v_delta)
            ON DUPLICATE KEY UPDATE votes = votes + VALUES(votes);
    END LOOP;
    CLOSE changes;

    IF v_previous_count = 0 THEN
        INSERT INTO polls_questiontally (question_id, shard, voters)
        VALUES (p_question, p_shard, 1)
            ON DUPLICATE KEY UPDATE voters = voters + 1;
        INSERT INTO polls_voteactivity (question_id, hour, shard, votes)
        VALUES (p_question, p_hour, p_shard, 1)
            ON DUPLICATE KEY UPDATE votes = votes + 1;
    END IF;

    IF p_own_transaction THEN
        COMMIT;
    END IF;
    SELECT IF(v_previous_count = 0, 'first', 'changed'), v_limit, v_previous;
END
"""

DROP = "DROP PROCEDURE IF EXISTS polls_cast_vote"


def create_procedure(apps, schema_editor):  # noqa: ARG001
    if schema_editor.connection.vendor == "mysql":
        schema_editor.execute(DROP, params=None)
        schema_editor.execute(CREATE, params=None)


def drop_procedure(apps, schema_editor):  # noqa: ARG001
    if schema_editor.connection.vendor == "mysql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    # MySQL commits DDL as it goes: a transaction around it would promise a rollback it cannot do.
    atomic = False
    dependencies = [("polls", "0010_integrity_and_co_voting")]

    operations = [migrations.RunPython(create_procedure, drop_procedure, elidable=False)]
