"""The acting principal: who does something, in which organization."""

from dataclasses import dataclass

from plexica.errors import Forbidden
from plexica.tenancy.models import ApiKey, plugin_routes_scope


@dataclass(frozen=True)
class Principal:
    """Who acts, in which organization: the caller of a request (a key, a member, a superuser), or the
    system itself for workers and periodic jobs. Every service and worker takes one."""

    organization: object
    api_key: ApiKey | None = None
    membership: object = None
    user: object = None
    is_superuser: bool = False
    is_system: bool = False

    @classmethod
    def system(cls, organization):
        """The platform acting for `organization` on its own (a sync worker, a beat job, seeding): no user,
        every right in that organization."""
        return cls(organization=organization, is_system=True)

    @property
    def plugin(self):
        return self.api_key.plugin if self.api_key is not None and self.api_key.plugin_id else None

    @property
    def kind(self):
        if self.api_key is not None:
            return self.api_key.kind
        if self.is_system:
            return "system"
        return "superuser" if self.is_superuser else ApiKey.Kind.MEMBER

    @property
    def is_org_admin(self):
        """Org keys, owners, admins, superusers and the system manage the whole organization."""
        if self.is_superuser or self.is_system:
            return True
        if self.api_key is not None and self.api_key.kind == ApiKey.Kind.ORGANIZATION:
            return True
        return self.membership is not None and self.membership.is_org_admin

    def check_acts_for(self, plugin_id, doing="act for"):
        """A plugin key acts only as its own plugin; org admins act for any plugin of their org."""
        if self.plugin is not None:
            if self.plugin.plugin_id != plugin_id:
                raise Forbidden(f"This API key acts as {self.plugin.plugin_id}; it cannot {doing} {plugin_id}.",
                                code="org_capability_required")
        elif not self.is_org_admin:
            raise Forbidden("Only a plugin's own key or an organization admin may do this.",
                            code="org_capability_required")

    def check_may_call(self, target_plugin_id):
        """A key carrying `ext:{pluginId}:routes` scopes calls (through the gateway) only those plugins;
        Forbidden naming the scope the call needs otherwise. Keys without one, and sessions, call any."""
        allowed = self.api_key.routes_scope_plugins if self.api_key is not None else None
        if allowed is not None and target_plugin_id not in allowed:
            needed = plugin_routes_scope(target_plugin_id)
            raise Forbidden(f"This API key may call only {', '.join(sorted(allowed))}; calling {target_plugin_id} "
                            f"needs the '{needed}' scope.", code="insufficient_scope", required_scopes=[needed])

    def has_scope(self, *scopes):
        """True when the key carries one of `scopes` (sessions and unscoped keys carry them all)."""
        if self.api_key is None or not self.api_key.scopes:
            return True
        return any(scope in self.api_key.scopes for scope in scopes)
