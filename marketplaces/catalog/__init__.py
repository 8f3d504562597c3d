"""The catalog: plugins as bundles of config objects (membership), marketplaces as curated sets of plugins,
and the plugin catalog with member counts; their models, rules, admin and API."""
