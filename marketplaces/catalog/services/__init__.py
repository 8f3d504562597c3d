"""The catalog's rules, one module per aggregate: `plugins` (the catalog with member counts), `bundles` (plugin
membership of config objects) and `marketplaces` (marketplaces and the plugins they offer). No HTTP.
Each change emits its event in its transaction (see marketplaces.events)."""
