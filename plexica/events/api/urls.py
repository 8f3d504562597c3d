"""The event log's routes under /api/v1/: emit and read events (views.py), the live stream (stream.py)."""

from django.urls import include, path

from plexica.events.api import stream, views

app_name = "events-api"

v1_patterns = [
    path("events", views.EventListView.as_view(), name="event-list"),
    path("events/stream", stream.EventStreamView.as_view(), name="event-stream"),
    path("events/<str:event_id>", views.EventDetailView.as_view(), name="event-detail"),
]

urlpatterns = [path("v1/", include(v1_patterns))]
