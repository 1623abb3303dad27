"""`GET /app/ea/{name}`: the EA's files for the Terminals page's download links (the chat sends
the same files as documents). Only the names `services.terminals.ea_files` ships are served;
anything else is a 404 problem. Public like the EA's source itself: no secret is in them, and a
link cannot carry the API's Authorization header."""

from __future__ import annotations

from aiohttp import web

from core.http.problems import ProblemError
from services.terminals import ea_files

URL_PREFIX = "/app/ea/"  # + a file's name
PATH = URL_PREFIX + "{name}"


async def ea_file(request: web.Request) -> web.Response:
    found = ea_files.ea_file(request.match_info["name"])
    if found is None:
        raise ProblemError(404, "Not Found", "no such EA file")
    return web.Response(
        body=found.data,
        content_type=found.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{found.name}"',
            "Cache-Control": "no-cache",
        },
    )


def setup_downloads(app: web.Application) -> None:
    app.router.add_get(PATH, ea_file)
