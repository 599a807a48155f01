"""Pydantic shapes of centres and trusts."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class TrustOut(BaseModel):
    """A trust as the API returns it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    centre_id: int
    active: bool


class CentreOut(BaseModel):
    """A centre with its trusts."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    region: str | None
    genome_target: int | None
    trusts: list[TrustOut]
