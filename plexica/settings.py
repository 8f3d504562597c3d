"""Plexica settings. Everything that differs between machines comes from the environment."""

import base64
import hashlib
import ipaddress
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.templatetags.static import static

from plexica.environment import env_bool, env_int, env_list, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DEBUG = env_bool("DEBUG", False)

# Required when DEBUG is off, but only to serve: plexica.checks stops the web server, the Celery
# worker and manage.py's serving and database commands without it, while offline commands such as
# `makemigrations --check` still work on a bare checkout.
SECRET_KEY = env_str("SECRET_KEY") or ("insecure-development-key-only-for-debug-mode" if DEBUG else "")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")


def _encryption_keys():
    raw = env_list("PLEXICA_ENCRYPTION_KEYS")
    if not raw:
        if not DEBUG:
            return []  # required to serve: see plexica.checks
        # Development only: a stable key derived from SECRET_KEY.
        raw = [base64.urlsafe_b64encode(hashlib.sha256(SECRET_KEY.encode()).digest()).decode()]
    for position, key in enumerate(raw, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                f"PLEXICA_ENCRYPTION_KEYS entry {position} is not a valid Fernet key "
                "(32 url-safe base64-encoded bytes)"
            ) from None
    return raw


PLEXICA_ENCRYPTION_KEYS = _encryption_keys()
# Secrets a serving process cannot do without; plexica.checks refuses to serve while any is missing.
PLEXICA_MISSING_SECRETS = [
    name for name, value in (("SECRET_KEY", SECRET_KEY), ("PLEXICA_ENCRYPTION_KEYS", PLEXICA_ENCRYPTION_KEYS))
    if not value
]

INSTALLED_APPS = [
    "unfold.apps.BasicAppConfig",  # the admin theme: before django.contrib.admin, whose templates it replaces
    "plexica.adminsite.apps.PlexicaAdminConfig",  # django.contrib.admin with PlexicaAdminSite
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "plexica.tenancy",
    "plexica.events",
    "plexica.plugins",
    "plexica.access",
    "plexica.api",
    "registry",
    "gateway",
    "shareddata",
    "dependencies",
    "marketplaces",
    "webhooks",
    "connectors",
    "observability",
    "mcp_server",
]

MIDDLEWARE = [
    "plexica.api.middleware.RequestIdMiddleware",
    "plexica.observability.middleware.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "plexica.urls"
WSGI_APPLICATION = "plexica.wsgi.application"
ASGI_APPLICATION = "plexica.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: SQLite file by default (the embedded mode), PostgreSQL through DATABASE_URL.
DATABASE_URL = env_url(
    "DATABASE_URL",
    f"sqlite:///{VAR_DIR / 'plexica.sqlite3'}",
    schemes=("sqlite", "postgres", "postgresql", "pgsql"),
)
if DATABASE_URL.startswith("sqlite:///") and DATABASE_URL.endswith("plexica.sqlite3"):
    VAR_DIR.mkdir(exist_ok=True)
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60, minimum=0))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# The ASGI process (plexica/asgi.py sets PLEXICA_ASGI=1) serves only long-lived paths from one event loop
# whose worker threads come and go: a bounded psycopg pool instead of a connection per thread.
ASGI_PROCESS = env_bool("PLEXICA_ASGI", False)
if ASGI_PROCESS and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1, "max_size": env_int("ASGI_DB_POOL_SIZE", 8, minimum=1), "timeout": 10,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: cache, rate-limit store and Celery broker when REDIS_URL is set; local memory otherwise.
REDIS_URL = env_url("REDIS_URL", None, schemes=("redis", "rediss", "unix"))
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "plexica",
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "plexica"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env_str("STATIC_ROOT", "") or None  # only for collectstatic; the app serves from the finders
STATICFILES_DIRS = [BASE_DIR / "static"]
# The admin's assets (theme, fonts, charts) are served by the app itself, from the installed packages: no CDN,
# no collectstatic step; the admin works offline.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# The admin: unfold's theme, the sidebar by task and the models global search looks in (plexica/adminsite).
PLEXICA_ADMIN_SIDEBAR = [
    ("Overview", [("Dashboard", "dashboard", "admin:index"), ("Search", "search", "admin:search")]),
    ("Plugins", [
        ("Plugins", "extension", "plugins.plugin"),
        ("Services", "dns", "registry.pluginservice"),
        ("Dependencies", "account_tree", "dependencies.plugindependency"),
        ("Releases", "new_releases", "marketplaces.pluginrelease"),
        ("Permission grants", "key", "plugins.permissiongrant"),
        ("Shared data", "database", "shareddata.sharedentry"),
    ]),
    ("Content", [
        ("Config objects", "description", "marketplaces.configobject"),
        ("Marketplaces", "storefront", "marketplaces.marketplace"),
    ]),
    ("Integrations", [
        ("Definitions", "integration_instructions", "connectors.integrationdefinition"),
        ("Instances", "cable", "connectors.integrationinstance"),
        ("Executions", "receipt_long", "connectors.integrationexecution"),
    ]),
    ("Connectors", [
        ("Accounts", "link", "connectors.connectoraccount"),
        ("Instances", "hub", "connectors.connectorinstance"),
        ("Targets", "folder_data", "connectors.connectortarget"),
        ("Mappings", "alt_route", "connectors.connectormapping"),
        ("Sync events", "sync", "connectors.syncevent"),
    ]),
    ("Access", [
        ("Members", "group", "tenancy.membership"),
        ("Teams", "groups", "tenancy.team"),
        ("Team memberships", "group_add", "tenancy.teammembership"),
        ("Access grants", "lock_open", "access.accessgrant"),
        ("API keys", "vpn_key", "tenancy.apikey"),
        ("Organizations", "corporate_fare", "tenancy.organization"),
        ("Users", "person", "auth.user"),
        ("Groups", "shield_person", "auth.group"),
    ]),
    ("Events", [
        ("Event log", "bolt", "events.event"),
        ("Webhook endpoints", "send", "webhooks.webhookendpoint"),
        ("Webhook messages", "outbox", "webhooks.webhookmessage"),
    ]),
    ("Ops", [
        ("Service status history", "monitor_heart", "registry.servicestatustransition"),
        ("Lifecycle history", "history", "plugins.lifecycletransition"),
        ("Inbound webhooks", "webhook", "webhooks.webhookdelivery"),
    ]),
]
PLEXICA_ADMIN_SEARCH = [
    "plugins.plugin", "registry.pluginservice", "marketplaces.configobject", "marketplaces.marketplace",
    "tenancy.membership",
]
UNFOLD = {
    "SITE_TITLE": "Plexica",
    "SITE_HEADER": "Plexica control plane",
    "SITE_SYMBOL": "hub",
    "SHOW_VIEW_ON_SITE": False,
    "ENVIRONMENT": "plexica.adminsite.site.organization_badge",
    "STYLES": [lambda request: static("plexica/admin.css")],
    "SIDEBAR": {"show_search": False, "show_all_applications": False,
                "navigation": "plexica.adminsite.navigation.sidebar"},
}

# Request bodies: API payloads are JSON documents, never uploads.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2 * 1024 * 1024, minimum=1024)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
CSRF_FAILURE_VIEW = "plexica.api.errors.csrf_failure"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_THROTTLE_CLASSES": [],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "plexica.api.schema.PlexicaAutoSchema",
    "DEFAULT_METADATA_CLASS": "plexica.api.metadata.EndpointMetadata",
    "EXCEPTION_HANDLER": "plexica.api.errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "plexica.api.pagination.CursorPagination",
    "PAGE_SIZE": 50,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Plexica control plane API",
    "DESCRIPTION": (
        "Plugin gateway, admin and delivery API of Plexica. Tenant APIs need the `X-Tenant-Slug` header "
        "and `Authorization: Bearer <api key>` (or a logged-in admin session)."
    ),
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # System fonts: ReDoc's own (Roboto, Montserrat) would come from Google Fonts (templates/drf_spectacular).
    "REDOC_UI_SETTINGS": {
        "theme": {
            "typography": {
                "fontFamily": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
                "headings": {"fontFamily": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"},
                "code": {"fontFamily": "ui-monospace, 'SF Mono', Menlo, Consolas, monospace"},
            }
        }
    },
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/(v1/|plugin-gateway/)?",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "plexica.api.schema.document_path_id_formats",
        "plexica.api.schema.document_closed_request_bodies",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ServiceStatusEnum": "registry.models.ServiceStatus",
        "OrganizationStatusEnum": "plexica.tenancy.models.Organization.Status",
        "MembershipRoleEnum": "plexica.tenancy.models.Membership.Role",
        "AccessRoleEnum": "plexica.access.models.AccessRole",
        "WebhookMessageStatusEnum": "webhooks.outbound.models.WebhookMessage.Status",
        "IntegrationDefinitionStatusEnum": "connectors.integrations.models.IntegrationDefinition.Status",
        "IntegrationInstanceStatusEnum": "connectors.integrations.models.IntegrationInstance.Status",
        "IntegrationExecutionStatusEnum": "connectors.integrations.models.IntegrationExecution.Status",
        "IntegrationSuccessEnum": [("SUCCESS", "SUCCESS")],
        "ExtensionHealthEnum": [(name, name) for name in ("healthy", "degraded", "unhealthy")],
        "ExtensionStateEnum": [(name, name) for name in ("registered", "installed", "loaded", "degraded", "failed",
                                                         "disabled", "uninstalled")],
        "PluginCapabilityEnum": "plexica.plugins.models.Capability",
    },
}

# Rate limits per minute (GCRA, plexica/work/ratelimit.py: in Redis when REDIS_URL is set, else local memory).
RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
RATELIMIT_ORG_PER_MINUTE = env_int("RATELIMIT_ORG_PER_MINUTE", 1000, minimum=1)
RATELIMIT_KEY_PER_MINUTE = env_int("RATELIMIT_KEY_PER_MINUTE", 1000, minimum=1)

# API keys: last-used time is written at most this often per key.
APIKEY_LAST_USED_RESOLUTION = env_int("APIKEY_LAST_USED_RESOLUTION", 60, minimum=1)
# Resolved keys are cached this long (0: never); changes to a key, its org, plugin or member drop it at once.
APIKEY_CACHE_SECONDS = env_int("APIKEY_CACHE_SECONDS", 300, minimum=0)

# Outbound calls to URLs that plugins or users supply may reach only these networks (link-local and
# multicast never). Default: loopback and the private ranges.
GATEWAY_ALLOWED_NETWORKS = env_list(
    "GATEWAY_ALLOWED_NETWORKS",
    ["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"],
)
for _network in GATEWAY_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"GATEWAY_ALLOWED_NETWORKS has an invalid network: {_network!r}") from None

# Outbound webhooks reach public addresses; these networks (CIDRs) open private ones too. Link-local and
# metadata addresses stay refused whatever this says (plexica/network.py).
WEBHOOK_ALLOWED_NETWORKS = env_list("WEBHOOK_ALLOWED_NETWORKS", [])
for _network in WEBHOOK_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"WEBHOOK_ALLOWED_NETWORKS has an invalid network: {_network!r}") from None
# Integrations (connectors/integrations) reach public addresses; these networks (CIDRs) open private ones
# (tests, on-premises providers). Link-local and metadata addresses stay refused whatever this says.
INTEGRATION_ALLOWED_NETWORKS = env_list("INTEGRATION_ALLOWED_NETWORKS", [])
for _network in INTEGRATION_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"INTEGRATION_ALLOWED_NETWORKS has an invalid network: {_network!r}") from None
# Keep executions' parameters and results (encrypted) after the run, for debugging; off by default.
INTEGRATION_RECORD_PAYLOADS = env_bool("INTEGRATION_RECORD_PAYLOADS", False)
# The seed's API limits per key and minute: reads (GET) and writes (POST/PUT/PATCH/DELETE).
INTEGRATION_API_READS_PER_MINUTE = env_int("INTEGRATION_API_READS_PER_MINUTE", 100, minimum=1)
INTEGRATION_API_WRITES_PER_MINUTE = env_int("INTEGRATION_API_WRITES_PER_MINUTE", 50, minimum=1)
WEBHOOK_TIMEOUT_SECONDS = env_int("WEBHOOK_TIMEOUT_SECONDS", 15, minimum=1)
# An endpoint whose every attempt failed for this long is disabled (Standard Webhooks: 5 days).
WEBHOOK_DISABLE_AFTER_SECONDS = env_int("WEBHOOK_DISABLE_AFTER_SECONDS", 5 * 24 * 3600, minimum=60)
# Seconds before each retry of a failed delivery (Standard Webhooks: the first attempt is immediate, then
# 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h); the message fails after the last. Jittered ±20%.
WEBHOOK_RETRY_SCHEDULE = env_list("WEBHOOK_RETRY_SCHEDULE",
                                  ["5", "300", "1800", "7200", "18000", "36000", "50400", "72000", "86400"])
try:
    WEBHOOK_RETRY_SCHEDULE = [float(_delay) for _delay in WEBHOOK_RETRY_SCHEDULE]
except ValueError:
    raise ImproperlyConfigured("WEBHOOK_RETRY_SCHEDULE is a comma-separated list of seconds") from None
if any(_delay < 0 for _delay in WEBHOOK_RETRY_SCHEDULE):
    raise ImproperlyConfigured("WEBHOOK_RETRY_SCHEDULE's delays are not negative")

# The event log: how long events are kept, the most data a custom event carries, and how many recent
# events the Redis stream of each organization keeps (older ones are read from the log).
EVENTS_RETENTION_DAYS = env_int("EVENTS_RETENTION_DAYS", 30, minimum=1)
EVENTS_MAX_DATA_BYTES = env_int("EVENTS_MAX_DATA_BYTES", 64 * 1024, minimum=1024)
EVENTS_STREAM_MAXLEN = env_int("EVENTS_STREAM_MAXLEN", 10_000, minimum=100)
EVENTS_STREAM_HEARTBEAT_SECONDS = env_int("EVENTS_STREAM_HEARTBEAT_SECONDS", 15, minimum=1)

# Service registry: health derives from heartbeat age (seconds).
REGISTRY_DEGRADED_AFTER = env_int("REGISTRY_DEGRADED_AFTER", 90, minimum=1)
REGISTRY_UNAVAILABLE_AFTER = env_int("REGISTRY_UNAVAILABLE_AFTER", 300, minimum=1)
if REGISTRY_UNAVAILABLE_AFTER <= REGISTRY_DEGRADED_AFTER:
    raise ImproperlyConfigured("REGISTRY_UNAVAILABLE_AFTER must be greater than REGISTRY_DEGRADED_AFTER")
REGISTRY_DEREGISTER_AFTER = env_int("REGISTRY_DEREGISTER_AFTER", 0, minimum=0)  # 0: never
REGISTRY_DISCOVER_CACHE_SECONDS = env_int("REGISTRY_DISCOVER_CACHE_SECONDS", 300, minimum=0)
REGISTRY_MAX_BODY_BYTES = env_int("REGISTRY_MAX_BODY_BYTES", 256 * 1024, minimum=1024)
# Active health checks (registry/health_checks.py): every interval the platform calls each service's health
# path; consecutive failures make it DEGRADED, then UNAVAILABLE; consecutive successes make it HEALTHY again.
REGISTRY_HEALTH_CHECKS_ENABLED = env_bool("REGISTRY_HEALTH_CHECKS_ENABLED", True)
REGISTRY_HEALTH_CHECK_INTERVAL = env_int("REGISTRY_HEALTH_CHECK_INTERVAL", 30, minimum=5)  # seconds
REGISTRY_HEALTH_CHECK_TIMEOUT_MS = env_int("REGISTRY_HEALTH_CHECK_TIMEOUT_MS", 2000, minimum=50)
REGISTRY_HEALTH_CHECK_CONCURRENCY = env_int("REGISTRY_HEALTH_CHECK_CONCURRENCY", 50, minimum=1)  # threads per run
REGISTRY_HEALTH_CHECK_FAILURES_BEFORE_DEGRADED = env_int("REGISTRY_HEALTH_CHECK_FAILURES_BEFORE_DEGRADED", 2,
                                                         minimum=1)
REGISTRY_HEALTH_CHECK_FAILURES_BEFORE_UNAVAILABLE = env_int("REGISTRY_HEALTH_CHECK_FAILURES_BEFORE_UNAVAILABLE", 5,
                                                            minimum=1)
if REGISTRY_HEALTH_CHECK_FAILURES_BEFORE_UNAVAILABLE < REGISTRY_HEALTH_CHECK_FAILURES_BEFORE_DEGRADED:
    raise ImproperlyConfigured("REGISTRY_HEALTH_CHECK_FAILURES_BEFORE_UNAVAILABLE must be at least "
                               "REGISTRY_HEALTH_CHECK_FAILURES_BEFORE_DEGRADED")
REGISTRY_HEALTH_CHECK_SUCCESSES_BEFORE_HEALTHY = env_int("REGISTRY_HEALTH_CHECK_SUCCESSES_BEFORE_HEALTHY", 2,
                                                         minimum=1)
REGISTRY_HEALTH_CHECK_HISTORY = env_int("REGISTRY_HEALTH_CHECK_HISTORY", 100, minimum=1)  # checks kept per service

# Gateway: upstream calls.
GATEWAY_TIMEOUT_SECONDS = env_int("GATEWAY_TIMEOUT_SECONDS", 30, minimum=1)
GATEWAY_MAX_RESPONSE_BYTES = env_int("GATEWAY_MAX_RESPONSE_BYTES", 10 * 1024 * 1024, minimum=1024)
GATEWAY_BREAKER_FAILURES = env_int("GATEWAY_BREAKER_FAILURES", 5, minimum=1)
GATEWAY_BREAKER_COOLDOWN = env_int("GATEWAY_BREAKER_COOLDOWN", 30, minimum=1)
GATEWAY_POOL_MAXSIZE = env_int("GATEWAY_POOL_MAXSIZE", 32, minimum=1)

# Shared data.
SHAREDDATA_MAX_VALUE_BYTES = env_int("SHAREDDATA_MAX_VALUE_BYTES", 1024 * 1024, minimum=1)
SHAREDDATA_LIST_MAX_KEYS = env_int("SHAREDDATA_LIST_MAX_KEYS", 1000, minimum=1)

# GitHub connector: the App that repositories are synced through, and the secret its webhooks are signed with.
GITHUB_API_URL = env_url("GITHUB_API_URL", "https://api.github.com", schemes=("https", "http")).rstrip("/")
GITHUB_APP_ID = env_str("GITHUB_APP_ID", "")
GITHUB_APP_PRIVATE_KEY = env_str("GITHUB_APP_PRIVATE_KEY", "").replace("\\n", "\n")
GITHUB_WEBHOOK_SECRET = env_str("GITHUB_WEBHOOK_SECRET", "")
GITHUB_SYNC_MAX_ATTEMPTS = env_int("GITHUB_SYNC_MAX_ATTEMPTS", 6, minimum=1)
WEBHOOK_MAX_BODY_BYTES = env_int("WEBHOOK_MAX_BODY_BYTES", 25 * 1024 * 1024, minimum=1024)

# Metrics (GET /metrics, plexica/observability): the Prometheus series are recorded unless this is off (the
# benchmark compares both). METRICS_TOKEN is the bearer token a scraper sends; without it /metrics is open in
# the embedded mode only. Each series family keeps at most METRICS_MAX_SERIES label sets per process.
METRICS_ENABLED = env_bool("METRICS_ENABLED", True)

# The MCP server (mcp_server): browser origins allowed to call /mcp (none: only clients that send no Origin,
# as desktop apps and CLIs do), and its request body cap.
MCP_ALLOWED_ORIGINS = env_list("MCP_ALLOWED_ORIGINS", [])
MCP_MAX_BODY_BYTES = env_int("MCP_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)
# ASGI applications the ASGI process (plexica.asgi) serves beside Django, by path.
ASGI_MOUNTS = {"/mcp": "mcp_server.server.McpApp"}
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
METRICS_MAX_SERIES = env_int("METRICS_MAX_SERIES", 2000, minimum=10)
METRICS_CELERY_QUEUES = env_list("METRICS_CELERY_QUEUES", ["celery"])  # their length, at scrape time

# Celery: a real broker when REDIS_URL is set, eager in-process execution otherwise.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BEAT_SCHEDULE = {
    "registry-sweep-service-health": {
        "task": "registry.sweep_service_health",
        "schedule": 15.0,
        "options": {"expires": 14},
    },
    "registry-check-service-health": {
        "task": "registry.check_service_health",
        "schedule": float(REGISTRY_HEALTH_CHECK_INTERVAL),
        "options": {"expires": REGISTRY_HEALTH_CHECK_INTERVAL - 1},
    },
    "shareddata-purge-expired": {
        "task": "shareddata.purge_expired",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "connectors-run-due-sync-events": {
        "task": "connectors.run_due_sync_events",
        "schedule": 30.0,
        "options": {"expires": 25},
    },
    "connectors-reconcile-targets": {
        "task": "connectors.reconcile_targets",
        "schedule": 300.0,
        "options": {"expires": 240},
    },
    "events-dispatch-pending": {
        "task": "events.dispatch_pending",
        "schedule": 10.0,
        "options": {"expires": 9},
    },
    "events-purge-expired": {
        "task": "events.purge_expired",
        "schedule": 3600.0,
        "options": {"expires": 3000},
    },
    "webhooks-deliver-due": {
        "task": "webhooks.deliver_due",
        "schedule": 2.0,
        "options": {"expires": 2},
    },
    "gateway-flush-call-stats": {
        "task": "gateway.flush_call_stats",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
}
# Without a broker (embedded mode) `manage.py serve` runs the beat schedule in-process.
EMBEDDED_BEAT = env_bool("EMBEDDED_BEAT", not REDIS_URL)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO"), "propagate": False},
        "django.db.backends": {"level": "INFO"},
        # One line per finished task: the 2-second webhook and 10-second event jobs would drown the log.
        "celery.app.trace": {"level": env_str("LOG_LEVEL_TASKS", "WARNING")},
    },
}
