"""Observability: the Prometheus series of the platform, the /metrics endpoint that exposes them, and the
process hooks (gunicorn, Celery) that keep them right across worker processes.

The core owns every series (plexica.observability.metrics), so feature apps only call its small record_*
functions; series computed at scrape time from a feature app's data (service health) are collectors those
apps register from AppConfig.ready() (metrics.register_scrape_collector). Nothing here imports a feature app.
"""
