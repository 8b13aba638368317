"""create_app(): processing's HTTP composition root."""
from __future__ import annotations

from servicekit.web import create_service_app

from .api import blp, calendar_blp, files_blp, stats_blp, sync_blp
from .config import Settings


def create_app(settings: Settings | None = None):
    settings = settings or Settings.from_env()
    app, api = create_service_app(
        settings,
        title="Mot Cua processing (officer API)",
        description="Xử lý hồ sơ: cases, workflow and deadlines for officers of each agency.",
        max_content_length=settings.max_result_bytes + 64 * 1024,
        multipart_endpoints=("files.upload_file",),
    )
    for blueprint in (blp, files_blp, calendar_blp, stats_blp, sync_blp):
        api.register_blueprint(blueprint)
    return app
