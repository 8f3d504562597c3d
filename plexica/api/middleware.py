import re
import uuid

from plexica.events.log import request_id_var

_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def incoming_request_id(value):
    """The caller's X-Request-ID when it is a sane token, else a fresh one."""
    if value and _SANE_REQUEST_ID.match(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Gives every request an id (echoed from X-Request-ID when sane) and returns it on every response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = incoming_request_id(request.headers.get("X-Request-ID"))
        token = request_id_var.set(request.request_id)  # events emitted while serving carry it
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request.request_id
        return response
