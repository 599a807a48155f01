"""Queries for centres and trusts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from gmc.organisations.models import Centre, Trust


def list_centres(session: Session) -> Sequence[Centre]:
    """Every centre with its trusts, by name."""
    stmt = select(Centre).options(selectinload(Centre.trusts)).order_by(Centre.name)
    return session.execute(stmt).scalars().all()


def get_centre_by_code(session: Session, code: str) -> Centre | None:
    """The centre with this code."""
    return session.execute(select(Centre).where(Centre.code == code)).scalar_one_or_none()


def get_trust_by_code(session: Session, code: str) -> Trust | None:
    """The trust with this ODS code."""
    return session.execute(select(Trust).where(Trust.code == code)).scalar_one_or_none()


def get_trust(session: Session, trust_id: int) -> Trust | None:
    """The trust with this id."""
    return session.get(Trust, trust_id)


def trust_ids_of_centre(session: Session, centre_id: int) -> set[int]:
    """The ids of every trust in a centre."""
    return set(session.execute(select(Trust.id).where(Trust.centre_id == centre_id)).scalars())


def trusts_by_ids(session: Session, ids: Iterable[int]) -> Sequence[Trust]:
    """Trusts with these ids, by name."""
    return session.execute(select(Trust).where(Trust.id.in_(list(ids))).order_by(Trust.name)).scalars().all()
