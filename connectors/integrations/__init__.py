"""Integrations: third-party API definitions with JSON-Schema'd methods, instances connected through OAuth2,
an API key or basic credentials, and method execution by Celery workers (rate limits, timeouts, retries,
circuit breakers). `/api/v1/integrations/` (../shared/seeds/integration-service-api.md)."""
