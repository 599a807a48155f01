"""Request bodies of the research API (criteria and contents stay plain JSON: the service names bad fields)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class CountIn(BaseModel):
    """A cohort count: the criteria, and the project whose scope (and earlier releases) it reads."""

    criteria: dict[str, Any] = Field(default_factory=dict)
    project_id: str | None = None


class ProjectIn(BaseModel):
    """A proposed research project."""

    title: str
    purpose: str


class DecisionIn(BaseModel):
    """A data-access approver's decision; a rejection needs a note."""

    approve: bool
    note: str = ""


class CohortIn(BaseModel):
    """A new cohort saved in a project (version 1)."""

    project_id: str
    name: str
    criteria: dict[str, Any] = Field(default_factory=dict)
    note: str = ""


class CohortVersionIn(BaseModel):
    """A new version of a cohort's definition."""

    criteria: dict[str, Any] = Field(default_factory=dict)
    note: str = ""


class ReleaseIn(BaseModel):
    """A release request: the cohort (and version; default the latest), the purpose and what it holds."""

    cohort_id: str
    version: int | None = None
    purpose: str
    #: {"parts": [...], "genotypes": "cohort_genes" | "all" | "none"}; default every part.
    contents: dict[str, Any] = Field(default_factory=dict)
