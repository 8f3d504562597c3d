from urllib.parse import parse_qs, urlsplit

from rest_framework import pagination
from rest_framework.response import Response

from plexica.api.query import query_whole_number

MAX_PAGE_SIZE = 100


class CursorPagination(pagination.CursorPagination):
    """`{items, nextCursor}` pages; `limit` (1 to 100) and `cursor` query parameters."""

    page_size = 50
    page_size_query_param = "limit"
    max_page_size = MAX_PAGE_SIZE
    cursor_query_param = "cursor"
    ordering = ("-created_at", "pk")

    def get_ordering(self, request, queryset, view):
        ordering = getattr(view, "cursor_ordering", None) or self.ordering
        return (ordering,) if isinstance(ordering, str) else tuple(ordering)

    def _get_position_from_instance(self, instance, ordering):
        # DRF reads the cursor position with one getattr; follow related fields (`user__username`) too.
        value = instance
        for part in ordering[0].lstrip("-").split("__"):
            value = value[part] if isinstance(value, dict) else getattr(value, part)
        return str(value)

    def get_page_size(self, request):
        return query_whole_number(request, self.page_size_query_param, 1, self.max_page_size, default=self.page_size)

    def decode_cursor(self, request):
        from rest_framework.exceptions import NotFound, ValidationError

        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError({"cursor": ["Invalid cursor."]}) from None

    def next_cursor(self):
        link = self.get_next_link()
        if not link:
            return None
        return parse_qs(urlsplit(link).query).get(self.cursor_query_param, [None])[0]

    def get_paginated_response(self, data):
        return Response({"items": data, "nextCursor": self.next_cursor()})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["items", "nextCursor"],
            "properties": {
                "items": schema,
                "nextCursor": {"type": "string", "nullable": True, "description": "Pass as `cursor` for the next page."},
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"},
             "description": "The `nextCursor` of the previous page."},
            {"name": "limit", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size, "default": self.page_size}},
        ]


class PagePagination(pagination.BasePagination):
    """`{items, pagination: {page, limit, total, pages}}` pages (the integration API's seed): `page` (from 1)
    and `limit` (1 to 100, 20 by default) query parameters. A page past the last is empty."""

    default_limit = 20
    max_limit = MAX_PAGE_SIZE
    largest_page = 10**9

    def paginate_queryset(self, queryset, request, view=None):
        self.limit = query_whole_number(request, "limit", 1, self.max_limit, default=self.default_limit)
        self.page = query_whole_number(request, "page", 1, self.largest_page, default=1)
        self.total = queryset.count()
        start = (self.page - 1) * self.limit
        return list(queryset[start:start + self.limit]) if start < self.total else []

    def get_paginated_response(self, data):
        pages = (self.total + self.limit - 1) // self.limit
        return Response({"items": data, "pagination": {"page": self.page, "limit": self.limit, "total": self.total,
                                                       "pages": pages}})

    def get_paginated_response_schema(self, schema):
        whole = {"type": "integer", "minimum": 0}
        return {
            "type": "object",
            "required": ["items", "pagination"],
            "properties": {
                "items": schema,
                "pagination": {"type": "object", "required": ["page", "limit", "total", "pages"],
                               "properties": {"page": whole, "limit": whole, "total": whole, "pages": whole}},
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {"name": "page", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": self.largest_page, "default": 1}},
            {"name": "limit", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": self.max_limit, "default": self.default_limit}},
        ]
