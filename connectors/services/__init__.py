"""The GitHub connector's rules, one module per aggregate. No HTTP.

- `accounts`     GitHub App installations connected to an organization (org admins only)
- `instances`    named uses of an account; access grants on an instance cover everything under it
- `targets`      repository branches an instance syncs from, and manual resyncs
- `mappings`     path globs of a target -> config object types, maybe into a plugin
- `sync_events`  the sync history, and retries of failed or partial events
- `setup`        account + instance + target + mappings in one call
- `validation`   the field rules the API, the admin forms and the webhook handlers share

Every public function takes the acting principal first and checks its own rule (viewer reads, editor
changes and resyncs, manager archives and deletes; accounts and setup are for org admins): the API, the
admin, workers (as `Principal.system(org)`) and any other caller get the same answers. Every lookup is
scoped to the principal's organization, so another organization's id is NotFound, checked before the role.
Sync work is only queued here (connectors.queueing); the worker does it.
"""
