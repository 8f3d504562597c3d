"""The dashboard (the admin index): widgets that feature apps register from their AppConfig.ready().

A widget is a function `(request, scope)` returning the context of its template, or None to be left out (an
organization that does not use the feature). `scope` is the page's `plexica.adminsite.scope.Scope`: the
organizations shown (the current one, or all the user administers); every query of a widget goes through
`scope.filter(queryset)`. Widgets run in `order`; `width` is how many of the dashboard's 4 columns the card
takes. The template gets the context as `data`; a context's `all_url` becomes the card's "View all" link.

A widget that fails is logged and shown as a card saying so (re-raised with DEBUG on): one broken feature
does not take the organization's dashboard down with it. Charts are `plexica.adminsite.charts`.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.timesince import timesince

from plexica.adminsite.display import person_name as person  # noqa: F401  (widgets import it from here)

logger = logging.getLogger("plexica.adminsite")


@dataclass(frozen=True)
class Widget:
    name: str
    title: str
    render: Callable
    template: str
    order: int = 100
    width: int = 2


_widgets: dict[str, Widget] = {}


def register_widget(name, title, render, template, order=100, width=2):
    """Add (or replace, by name) a dashboard widget."""
    if width not in (1, 2, 3, 4):
        raise ValueError(f"Widget {name}: width is 1 to 4 columns, not {width!r}.")
    _widgets[name] = Widget(name, title, render, template, order, width)


def widgets():
    return sorted(_widgets.values(), key=lambda widget: (widget.order, widget.name))


def render_widgets(request, scope):
    """[{"widget", "context", "failed"}] for the widgets that have something to show."""
    cards = []
    for widget in widgets():
        try:
            context = widget.render(request, scope)
        except Exception:
            if settings.DEBUG:
                raise
            logger.exception("Dashboard widget %s failed", widget.name)
            cards.append({"widget": widget, "context": {}, "failed": True})
            continue
        if context is not None:
            cards.append({"widget": widget, "context": context, "failed": False})
    return cards


def ago(moment, now=None):
    """How long ago `moment` was, as a person says it: "just now", "5 minutes ago", "2 days, 3 hours ago"."""
    if moment is None:
        return "never"
    now = now or timezone.now()
    if now - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment, now)} ago"


def lasting(since, now=None):
    """How long something has lasted since `since`: "less than a minute", "3 hours, 12 minutes"."""
    now = now or timezone.now()
    return "less than a minute" if now - since < timedelta(minutes=1) else timesince(since, now)
