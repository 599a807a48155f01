"""Registry test helpers: principals of the demo users."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gmc.auth.models import User
from gmc.auth.service import principal_for


@pytest.fixture
def principal_of():
    """Returns the principal of a demo user inside a session."""

    def _principal(session, username: str):
        user = session.execute(sa.select(User).where(User.username == username)).scalar_one()
        return principal_for(session, user, auth_method="session")

    return _principal
