"""Operational endpoints: liveness, readiness and status, for load balancers and humans."""

import time

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from kombu import Connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

import plexica

STARTED_AT = timezone.now()
_STARTED_MONOTONIC = time.monotonic()


def check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_cache():
    key = "plexica:readyz"
    cache.set(key, "1", timeout=10)
    if cache.get(key) != "1":
        raise RuntimeError("the cache did not return what was just written")


def check_broker():
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=2)


def component_checks():
    """The dependencies this process needs, by name (the broker only when one is configured)."""
    checks = {"database": check_database, "cache": check_cache}
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        checks["broker"] = check_broker
    return checks


def check_components():
    """Run every check; returns ({name: {"status", "error"?, "latencyMs"}}, [failing names])."""
    results, failing = {}, []
    for name, check in component_checks().items():
        started = time.perf_counter()
        try:
            check()
        except Exception as exc:  # any failure means "not ready"; the message tells which
            results[name] = {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:300]}
            failing.append(name)
        else:
            results[name] = {"status": "ok"}
        results[name]["latencyMs"] = round((time.perf_counter() - started) * 1000, 2)
    return results, failing


class OpsView(APIView):
    authentication_classes = []
    permission_classes = []
    schema_tags = ["ops"]


class HealthzView(OpsView):
    """The process is alive. No I/O."""

    @extend_schema(responses=inline_serializer("Healthz", {"status": serializers.CharField()}))
    def get(self, request):
        return Response({"status": "ok"})


_ComponentsField = serializers.DictField(child=serializers.DictField())


class ReadyzView(OpsView):
    """Database, cache and (when configured) broker are reachable; 503 naming what is not."""

    @extend_schema(
        responses={
            200: inline_serializer("Readyz", {"status": serializers.CharField(), "components": _ComponentsField}),
            503: inline_serializer(
                "ReadyzFailing",
                {"status": serializers.CharField(), "failing": serializers.ListField(child=serializers.CharField()),
                 "components": _ComponentsField},
            ),
        }
    )
    def get(self, request):
        components, failing = check_components()
        if failing:
            return Response({"status": "unavailable", "failing": failing, "components": components}, status=503)
        return Response({"status": "ok", "components": components})


class StatusView(OpsView):
    """Version, uptime, runtime mode and component health."""

    @extend_schema(
        responses=inline_serializer(
            "Status",
            {
                "status": serializers.CharField(),
                "version": serializers.CharField(),
                "startedAt": serializers.DateTimeField(),
                "uptimeSeconds": serializers.FloatField(),
                "mode": serializers.CharField(),
                "database": serializers.CharField(),
                "components": _ComponentsField,
            },
        )
    )
    def get(self, request):
        components, failing = check_components()
        return Response(
            {
                "status": "degraded" if failing else "ok",
                "version": plexica.__version__,
                "startedAt": STARTED_AT,
                "uptimeSeconds": round(time.monotonic() - _STARTED_MONOTONIC, 1),
                "mode": "embedded" if settings.CELERY_TASK_ALWAYS_EAGER else "full",
                "database": connection.vendor,
                "components": components,
            }
        )
