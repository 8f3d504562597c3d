"""The page of members who are not staff: panels that apps register from their AppConfig.ready().

A panel is a function `(request, principal)` returning the context of its template, or None. It handles its
own POSTs through `handle(request, principal)`, returning a message or None, so one page holds every panel.
"""

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class MemberPanel:
    name: str
    title: str
    render: Callable
    template: str
    handle: Callable | None = None
    order: int = 100


_panels: dict[str, MemberPanel] = {}


def register_member_panel(name, title, render, template, handle=None, order=100):
    _panels[name] = MemberPanel(name, title, render, template, handle, order)


def member_panels():
    return sorted(_panels.values(), key=lambda panel: (panel.order, panel.name))


def member_panel(name):
    return _panels.get(name)
