"""Config objects (skills, agents, commands, tools, MCP servers, hooks, contexts) and their immutable versions:
the models, the rules for creating, versioning, archiving, deleting and restoring them, per-type parsing,
re-encryption of stored payloads, and their admin and API."""
