"""Access as a platform service: who may use which shareable resource, with which role.

- `models`: the access grant (a role on one resource for a member, a team or the whole organization);
- `registry`: the shareable resource types, which apps register from their `AppConfig.ready()`;
- `services`: the rules (effective roles, what a caller may view, the org-level capabilities) and
  granting and revoking, for every caller (API views, the admin, workers);
- `api`: the grant endpoints (`<resource>/{id}/grants`) every shareable resource type reuses;
- `admin`: the grant admin and the grants panel of a resource's change page.
"""
