"""The uploads API: stream a file in, list your centre's uploads and the import folders you may use."""

from __future__ import annotations

from datetime import datetime

import anyio
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict
from starlette.concurrency import run_in_threadpool

from gmc.auth.dependencies import get_principal
from gmc.auth.principal import Principal
from gmc.common.requests import import_max_bytes
from gmc.db.core import GmcSession
from gmc.db.dependencies import DB
from gmc.files import service

router = APIRouter(prefix="/api", tags=["files"])


class UploadOut(BaseModel):
    """An upload as the API shows it; pass `reference` wherever a request takes a file."""

    model_config = ConfigDict(from_attributes=True)

    upload_id: str
    reference: str
    filename: str
    size: int
    sha256: str
    uploaded_by: str
    created_at: datetime


class FolderOut(BaseModel):
    """An import folder the caller may name files in, as <name>:<path>."""

    name: str
    shared: bool


def upload_out(upload) -> UploadOut:  # noqa: ANN001
    """The API view of an upload."""
    return UploadOut(upload_id=upload.upload_id, reference=f"{service.UPLOAD_PREFIX}{upload.upload_id}",
                     filename=upload.filename, size=upload.size, sha256=upload.sha256,
                     uploaded_by=upload.uploaded_by, created_at=upload.created_at)


@router.post("/uploads", response_model=UploadOut, status_code=201, max_body_size=import_max_bytes())
async def upload(request: Request, filename: str = Query(..., min_length=1, max_length=200,
                                                         description="The file's name, e.g. case.vcf.gz"),
                 principal: Principal = Depends(get_principal), db: GmcSession = DB) -> UploadOut:
    """Streams the request body into the data directory under a generated name; answers the reference to use."""
    writer = await run_in_threadpool(service.start_upload, db, principal, request.app.state.settings, filename)
    try:
        async for chunk in request.stream():
            if chunk:
                await anyio.to_thread.run_sync(writer.write, chunk)
        row = await run_in_threadpool(service.record_upload, db, principal, writer)
    except BaseException:
        writer.discard()
        raise
    return upload_out(row)


@router.get("/uploads", response_model=list[UploadOut])
def uploads(principal: Principal = Depends(get_principal), db: GmcSession = DB) -> list[UploadOut]:
    """Your centre's uploads, newest first."""
    return [upload_out(u) for u in service.uploads_of(db, principal)]


@router.get("/import-folders", response_model=list[FolderOut])
def import_folders(request: Request, principal: Principal = Depends(get_principal),
                   db: GmcSession = DB) -> list[FolderOut]:
    """The import folders you may name files in (as <folder>:<path>)."""
    centre = service.centre_code_of(db, principal)
    return [FolderOut(name=f.name, shared=f.centre_code is None and not f.per_centre)
            for f in service.usable_folders(principal, centre, request.app.state.settings)]
