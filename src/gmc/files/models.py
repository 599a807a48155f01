"""Uploaded files: stored under the data directory by a generated name, owned by the uploader's centre."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gmc.db.core import Base


class Upload(Base):
    """A file a user uploaded for later use as the input of a request (a VCF, a CNA table, ...)."""

    __tablename__ = "upload"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The reference users pass back ("upload:<upload_id>"); random, so it cannot be guessed.
    upload_id: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    #: The uploader's centre: only its staff (and national staff) may use the file.
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centre.id"), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    uploaded_by: Mapped[str] = mapped_column(String(200), nullable=False)
    #: The name the file had on the uploader's computer (shown only; never used as a path).
    filename: Mapped[str] = mapped_column(String(200), nullable=False)
    #: Where it is stored, relative to GMC_DATA_DIR/uploads: <centre>/<upload_id><suffix>.
    stored_name: Mapped[str] = mapped_column(String(200), nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(nullable=False)
