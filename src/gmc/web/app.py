"""The FastAPI application factory: wires every feature's routes, pages, errors and middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.trustedhost import TrustedHostMiddleware

from gmc import __version__
from gmc.admin import router as admin_router
from gmc.admin import views as admin_views
from gmc.auth import router as auth_router
from gmc.auth import views as auth_views
from gmc.bootstrap import load_models
from gmc.common.logging import configure_logging
from gmc.db.core import Database
from gmc.files import router as files_router
from gmc.files.folders import check_import_folders
from gmc.genomics import router as genomics_router
from gmc.genomics import views as genomics_views
from gmc.interpretation.cancer import router as cancer_router
from gmc.interpretation.cancer import views as cancer_views
from gmc.interpretation.rare import router as rare_router
from gmc.interpretation.rare import views as rare_views
from gmc.jobs import router as jobs_router
from gmc.jobs import views as jobs_views
from gmc.jobs.service import JobRunner
from gmc.phenotype import router as phenotype_router
from gmc.phenotype import views as phenotype_views
from gmc.programme import router as programme_router
from gmc.programme import views as programme_views
from gmc.registry import router as registry_router
from gmc.registry import views as registry_views
from gmc.reporting import router as reporting_router
from gmc.reporting import views as reporting_views
from gmc.research import router as research_router
from gmc.research import views as research_views
from gmc.samples import router as samples_router
from gmc.samples import views as samples_views
from gmc.settings import Settings, get_settings
from gmc.web import docs as web_docs
from gmc.web import views as web_views
from gmc.web.errors import install_error_handlers
from gmc.web.middleware import RequestContextMiddleware
from gmc.web.security import SecurityHeadersMiddleware

STATIC_DIR = Path(__file__).resolve().parent / "static"


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start-up marks failed the jobs an earlier server process left unfinished; shut-down stops this one's."""
    import anyio

    await anyio.to_thread.run_sync(app.state.jobs.recover)
    try:
        yield
    finally:
        await anyio.to_thread.run_sync(app.state.jobs.shutdown)


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    """Builds the web app for these settings (production refuses unsafe secrets)."""
    settings = settings or get_settings()
    settings.check_production_safety()
    check_import_folders(settings)
    configure_logging(settings.log_level)
    load_models()
    # /docs and /redoc come from gmc.web.docs (vendored assets, no CDN, no inline script).
    app = FastAPI(title="gmc", version=__version__, max_body_size=settings.max_body_bytes, docs_url=None, redoc_url=None,
                  openapi_url=None, lifespan=_lifespan,
                  description="Genomic Medicine Centre platform: registry, samples, phenotypes, genomes, interpretation.")
    app.state.settings = settings
    app.state.database = database or Database(settings.database_url, settings=settings)
    app.state.jobs = JobRunner(app.state.database, workers=settings.job_workers)
    app.add_middleware(SecurityHeadersMiddleware, production=settings.is_production)
    # The Host header is checked before anything uses it (GMC_ALLOWED_HOSTS; production must list its names).
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.allowed_host_list())
    app.add_middleware(RequestContextMiddleware, cookie_secure=bool(settings.cookie_secure))
    install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(web_views.health_router)
    app.include_router(web_docs.router)
    for router in (auth_router.router, admin_router.router, files_router.router, registry_router.router,
                   samples_router.router,
                   phenotype_router.router, cancer_router.router, rare_router.router, genomics_router.router,
                   reporting_router.router, reporting_router.mdt_router,
                   research_router.router, research_router.beacon_router, programme_router.router, jobs_router.router):
        app.include_router(router)
    for router in (web_views.router, auth_views.router, admin_views.router, registry_views.router,
                   samples_views.router, phenotype_views.router, cancer_views.router, rare_views.router, genomics_views.router,
                   reporting_views.router, research_views.router, programme_views.router, jobs_views.router):
        app.include_router(router)
    return app
