"""PlexicaAdminSite: the dashboard as index, global search, the organization switcher and the members' page."""

from django.apps import apps
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.forms import AuthenticationForm as PlainAuthenticationForm
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import Resolver404, path, resolve, reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from unfold.forms import AuthenticationForm as ThemedAuthenticationForm
from unfold.sites import UnfoldAdminSite

from plexica.adminsite.dashboard import render_widgets
from plexica.adminsite.members import member_panel, member_panels
from plexica.adminsite.scope import (
    current_organization,
    page_scope,
    switch_organization,
    switchable_organizations,
)
from plexica.errors import DomainError
from plexica.tenancy.models import Membership
from plexica.tenancy.principal import Principal

SEARCH_LIMIT = 10
MIN_SEARCH_LENGTH = 2


class LoginForm(ThemedAuthenticationForm):
    """Staff and members alike sign in here: staff reach the admin, members their own page."""

    def confirm_login_allowed(self, user):
        PlainAuthenticationForm.confirm_login_allowed(self, user)  # active users only; no staff check


class OfferedAutocompleteView(AutocompleteJsonView):
    """Django's autocomplete, except that the admin of the form may offer the choices itself through
    `autocomplete_queryset(request, field_name)` (None: the target admin's own rows, as usual). It is how an org
    admin picks people (users) for a membership without being allowed to browse the user admin."""

    def process_request(self, request):
        term, model_admin, source_field, to_field_name = super().process_request(request)
        source_admin = self.admin_site._registry.get(source_field.model)
        offer = getattr(source_admin, "autocomplete_queryset", None)
        self.offered = offer(request, source_field.name) if offer else None
        return term, model_admin, source_field, to_field_name

    def has_perm(self, request, obj=None):
        return self.offered is not None or super().has_perm(request, obj)

    def get_queryset(self):
        if self.offered is None:
            return super().get_queryset()
        queryset, duplicates = self.model_admin.get_search_results(self.request, self.offered, self.term)
        return queryset.distinct() if duplicates else queryset


def organization_badge(request):
    """unfold's ENVIRONMENT: the organization in view, shown in the header of every page."""
    if not (request.user.is_active and request.user.is_staff):
        return None
    organization = current_organization(request)
    if organization is not None:
        return [organization.name, "info"]
    return ["All organizations", "warning"] if request.user.is_superuser else ["All my organizations", "info"]


class PlexicaAdminSite(UnfoldAdminSite):
    site_header = "Plexica control plane"
    site_title = "Plexica"
    index_title = "Dashboard"
    login_form = LoginForm
    index_template = "admin/plexica_dashboard.html"

    def get_urls(self):
        return [
            path("organization/", self.admin_view(self.switch_organization_view), name="switch_organization"),
            path("me/", self.member_home, name="member_home"),
            *super().get_urls(),
        ]

    def autocomplete_view(self, request):
        return OfferedAutocompleteView.as_view(admin_site=self)(request)

    def each_context(self, request):
        context = super().each_context(request)
        if request.user.is_active and request.user.is_staff:
            organizations = list(switchable_organizations(request.user)[:200])
            context["plexica_organizations"] = organizations if len(organizations) > 1 else []
            context["plexica_current_organization"] = current_organization(request)
        return context

    @method_decorator(never_cache)
    def login(self, request, extra_context=None):
        user = request.user
        if request.method == "GET" and user.is_authenticated and user.is_active and not user.is_staff:
            return redirect("admin:member_home")
        response = super().login(request, extra_context)
        user = request.user
        if request.method == "POST" and user.is_authenticated and response.status_code == 302:
            if not user.is_staff:
                return redirect("admin:member_home")  # a member's only page, whatever "next" said
            if not (request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME)):
                return redirect("admin:index")  # not LOGIN_REDIRECT_URL (/accounts/profile/, not a page here)
        return response

    def index(self, request, extra_context=None):
        scope = page_scope(request)
        cards = render_widgets(request, scope) if scope.organization_ids is None or scope.organization_ids else []
        extra_context = {**(extra_context or {}), "cards": cards, "scope": scope}
        return super().index(request, extra_context)

    def search(self, request, extra_context=None):
        """Global search: the organization's plugins, services, config objects, marketplaces and members
        (settings.PLEXICA_ADMIN_SEARCH), each through its admin's own scope and search fields."""
        query = request.GET.get("q", "").strip()
        groups = []
        if len(query) >= MIN_SEARCH_LENGTH:
            for label in settings.PLEXICA_ADMIN_SEARCH:
                model = apps.get_model(label)
                model_admin = self._registry.get(model)
                if model_admin is None or not model_admin.has_view_or_change_permission(request):
                    continue
                found, _ = model_admin.get_search_results(request, model_admin.get_queryset(request), query)
                found = found.order_by(*model._meta.ordering or ["pk"]).distinct()
                rows = list(found[:SEARCH_LIMIT + 1])
                opts = model._meta
                groups.append({
                    "title": opts.verbose_name_plural.capitalize(),
                    "rows": [(str(row), reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[row.pk]))
                             for row in rows[:SEARCH_LIMIT]],
                    "more": len(rows) > SEARCH_LIMIT,
                    "all_url": reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
                    + "?" + urlencode({"q": query}),
                })
        context = {
            **self.each_context(request), "title": f"Search: {query}" if query else "Search", "query": query,
            "groups": groups, "too_short": 0 < len(query) < MIN_SEARCH_LENGTH,
            "found": sum(len(group["rows"]) for group in groups),
        }
        request.current_app = self.name
        return TemplateResponse(request, "admin/plexica_search.html", context)

    @method_decorator(require_POST)
    def switch_organization_view(self, request):
        if not switch_organization(request, request.POST.get("organization", "")):
            messages.error(request, "You cannot work in that organization.")
        return HttpResponseRedirect(self._after_switch(request, request.POST.get("next", "")))

    def _after_switch(self, request, next_url):
        """Back to the page the switch was made on, but to its list when it was one object's page (which
        may belong to the organization left)."""
        index = reverse("admin:index")
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            return index
        try:
            match = resolve(next_url.split("?")[0])
        except Resolver404:
            return index
        name = match.url_name or ""
        if name.endswith("_changelist") or name in {"index", "search"}:
            return next_url
        for suffix in ("_change", "_delete", "_history"):
            if name.endswith(suffix):
                return reverse(f"admin:{name[: -len(suffix)]}_changelist")
        return index

    @method_decorator(never_cache)
    def member_home(self, request):
        """What a member who is not staff may do here: their panels, in the organization they pick."""
        user = request.user
        if not (user.is_authenticated and user.is_active):
            return redirect_to_login(request.get_full_path(), reverse("admin:login", current_app=self.name))
        if user.is_staff:
            return redirect("admin:index")
        memberships = list(Membership.objects.filter(user=user).select_related("organization")
                           .order_by("organization__name"))
        chosen = request.GET.get("organization") or request.POST.get("organization")
        membership = next((m for m in memberships if m.organization.slug == chosen), None) or (
            memberships[0] if memberships else None)
        principal = None
        if membership is not None:
            principal = Principal(organization=membership.organization, membership=membership, user=user)
        answered = {}  # a panel whose POST answer is shown on this page itself (a new key's token, once)
        if request.method == "POST" and principal is not None:
            panel = member_panel(request.POST.get("panel", ""))
            if panel is not None and panel.handle is not None:
                try:
                    message = panel.handle(request, principal)
                except DomainError as exc:
                    messages.error(request, exc.message)
                else:
                    if isinstance(message, TemplateResponse):
                        return message
                    if isinstance(message, dict):
                        answered[panel.name] = message
                    elif message:
                        messages.success(request, message)
                if not answered:
                    return redirect(f"{reverse('admin:member_home')}?organization={membership.organization.slug}")
        panels = []
        if principal is not None:
            for panel in member_panels():
                context = panel.render(request, principal)
                if context is not None:
                    panels.append({"panel": panel, "context": {**context, **answered.get(panel.name, {})}})
        context = {
            **self.each_context(request), "title": "Your workspace", "memberships": memberships,
            "membership": membership, "panels": panels,
        }
        request.current_app = self.name
        return TemplateResponse(request, "admin/plexica_member_home.html", context)
