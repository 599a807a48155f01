"""Database errors never carry a patient's details into logs: SQLAlchemy hides statement parameters, and the log
formatter masks the values PostgreSQL quotes (Key (...)=(...), failing rows). Both engines."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from gmc.common.logging import JsonFormatter
from gmc.registry.models import Participant


def _failing_write(database, **values):
    now = datetime.now(UTC)
    with pytest.raises(sa.exc.DBAPIError) as caught, database.transaction() as s:
        s.add(Participant(participant_id="P00000001", family_name="Zebedee", given_name="Quentin",
                          date_of_birth=datetime(1961, 7, 9).date(), sex="male", postcode="B15 2TT",
                          created_at=now, updated_at=now, **values))
        s.flush()
        s.add(Participant(participant_id="P00000001", family_name="Zebedee", given_name="Quentin",
                          date_of_birth=datetime(1961, 7, 9).date(), sex="male", postcode="B15 2TT",
                          created_at=now, updated_at=now, **values))
        s.flush()
    return caught.value


def test_a_database_error_logs_no_names(database) -> None:
    error = _failing_write(database, nhs_number="9434765919")
    assert "Zebedee" not in str(error) and "9434765919" not in str(error)
    assert "hidden" in str(error)  # hide_parameters
    record = logging.LogRecord("gmc.errors", logging.ERROR, __file__, 1, "unhandled error", (), None)
    try:
        raise error
    except sa.exc.DBAPIError:
        record.exc_info = sys.exc_info()
    text = JsonFormatter().format(record)
    for secret in ("Zebedee", "Quentin", "1961-07-09", "B15 2TT", "9434765919", "P00000001"):
        assert secret not in text, f"{secret} reached the log"
    if database.dialect == "postgresql":
        # The driver's own message quotes the key (DETAIL: Key (participant_id)=(...)); the log masks it.
        assert "P00000001" in str(error.orig) and "Key (participant_id)=(redacted)" in text

