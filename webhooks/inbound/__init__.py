"""Inbound webhooks: deliveries that providers (GitHub, through connectors) send to the public ingress.

- `providers`  the registry of providers (signature scheme, event and delivery headers, handler); a
               provider app registers itself from its AppConfig.ready()
- `services`   receiving one delivery: verify the raw body, dedupe by delivery id, store, hand it over
- `models`     WebhookDelivery, each verified delivery stored once (registered under the `webhooks` app)
- `api/views`  the ingress endpoint, `POST /api/v1/webhooks/connectors/<provider>`
"""
