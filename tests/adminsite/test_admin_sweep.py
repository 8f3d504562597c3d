"""Every registered admin, visited as an org admin and as a superuser: its list, its add page and one of its
object pages answer (200, or a deliberate 403 / redirect, never a 404 or a crash), and its list names things
instead of showing raw public ids as link texts. This catches the pages nobody owns."""

import re
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.urls import NoReverseMatch, reverse

from plexica.tenancy.admin import organization_lookup
from tests.adminsite.bulk import bulk_rows

# A generated public id (plexica.ids): a prefix, "_", 22 letters and digits.
RAW_ID = re.compile(r"(?<![\w-])(plg|cfo|mkt|ver|svc|grt|rel|cac|cin|ctg|cmp|sev|key|mem|org|team|evt|whe|msg|idef|iins|iexe)_[A-Za-z0-9]{22}\b")
DELIBERATE = {200, 302, 403}

ADMINS = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
IDS = [model._meta.label_lower for model, _ in ADMINS]


class ResultLinks(HTMLParser):
    """The texts of the links inside the changelist's table (#result_list)."""

    def __init__(self):
        super().__init__()
        self.depth = 0  # > 0 inside the results table
        self.in_link = False
        self.links = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and (attrs.get("id") == "result_list" or self.depth):
            self.depth += 1
        elif tag == "a" and self.depth:
            self.in_link = True
            self.links.append("")

    def handle_endtag(self, tag):
        if tag == "table" and self.depth:
            self.depth -= 1
        elif tag == "a":
            self.in_link = False

    def handle_data(self, data):
        if self.in_link:
            self.links[-1] += data


def result_link_texts(html):
    parser = ResultLinks()
    parser.feed(html)
    return [" ".join(text.split()) for text in parser.links]


def url(model, view, *args):
    opts = model._meta
    try:
        return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=[quote(a) for a in args])
    except NoReverseMatch:
        return None


def one_row(model, organization):
    lookup = organization_lookup(model)
    queryset = model._default_manager.all()
    if lookup is not None:
        queryset = queryset.filter(**{lookup: organization.pk})
    elif model._meta.label_lower == "auth.user":
        queryset = queryset.filter(memberships__organization=organization)
    return queryset.order_by("pk").first()


@pytest.fixture
def rows(org):
    return bulk_rows(org, 3)


@pytest.fixture(params=["org_admin", "superuser"])
def visitor(request, client, rows):
    user = request.getfixturevalue(request.param)
    client.force_login(getattr(user, "user", user))
    return request.param, client


@pytest.mark.parametrize(("model", "model_admin"), ADMINS, ids=IDS)
def test_every_admin_page_answers_and_its_list_names_things(visitor, model, model_admin, org):
    who, client = visitor
    label = model._meta.label_lower

    changelist = url(model, "changelist")
    response = client.get(changelist)
    assert response.status_code in DELIBERATE, (who, changelist, response.status_code)
    if who == "superuser":
        assert response.status_code == 200, (who, changelist, response.status_code)
    if response.status_code == 200:
        html = response.content.decode()
        assert 'id="result_list"' in html or "0 " in html, f"{label}: the list shows no results table"
        raw = [text for text in result_link_texts(html) if RAW_ID.search(text)]
        assert not raw, f"{label} ({who}): raw ids as link texts in the list: {raw[:5]}"

    add = url(model, "add")
    if add is not None:
        response = client.get(add)
        assert response.status_code in DELIBERATE, (who, add, response.status_code)

    obj = one_row(model, org)
    if obj is not None:
        change = url(model, "change", obj.pk)
        response = client.get(change)
        assert response.status_code in DELIBERATE, (who, change, response.status_code)
        if who == "superuser":
            assert response.status_code in {200, 302}, (who, change, response.status_code)
