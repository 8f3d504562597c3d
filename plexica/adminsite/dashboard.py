"""The dashboard (the admin index): widgets that feature apps register from their AppConfig.ready().

A widget is a function `(request, scope)` returning the context of its template, or None to be left out.
`scope` is the page's `plexica.adminsite.scope.Scope`: the organizations shown (the current one, or all the user administers) and
the principal to act as in each. Widgets run in `order`; `width` is how many of the dashboard's 4 columns
the card takes.
"""

from dataclasses import dataclass
from typing import Callable


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
    _widgets[name] = Widget(name, title, render, template, order, width)


def widgets():
    return sorted(_widgets.values(), key=lambda widget: (widget.order, widget.name))


def render_widgets(request, scope):
    """[{"widget", "context"}] for the widgets that have something to show."""
    cards = []
    for widget in widgets():
        context = widget.render(request, scope)
        if context is not None:
            cards.append({"widget": widget, "context": context})
    return cards
