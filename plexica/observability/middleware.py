"""Counts every HTTP request in http_requests_total{method,endpoint,status}."""

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed

from plexica.observability.metrics import UNMATCHED, count_http_request, route_template

# Views that answer for whatever matched no route: their requests are `unmatched`, like unresolved ones.
_CATCH_ALL_VIEWS = {"api_not_found"}


def endpoint_label(request):
    """The route template the request resolved to (`/api/v1/plugins/{plugin_id}`), never the raw path."""
    match = getattr(request, "resolver_match", None)
    if match is None or getattr(match.func, "__name__", "") in _CATCH_ALL_VIEWS or not match.route:
        return UNMATCHED
    return route_template(match.route)


class MetricsMiddleware:
    """Outermost but for the request id, so every answer is counted, errors and 404s included."""

    def __init__(self, get_response):
        if not settings.METRICS_ENABLED:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        count_http_request(request.method, endpoint_label(request), response.status_code)
        return response
