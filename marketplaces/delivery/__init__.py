"""Releases and delivery: immutable snapshots of a plugin and the pinned one, what clients install
(manifests, payloads), what they report they have installed, and update checks."""
