"""A query sent to MySQL holds one statement: mysqlclient's multi-statement mode is off
(beebeta/settings.py), so a mistake that let text into SQL could never add a statement of its
own. The vote's several statements are one CALL of a stored procedure."""

from __future__ import annotations

import pytest
from django.db import ProgrammingError, connection


@pytest.mark.django_db
def test_two_statements_in_one_query_are_refused():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
        with pytest.raises(ProgrammingError):
            cursor.execute("SELECT 1; SELECT 2")
