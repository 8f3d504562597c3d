"""The GitHub REST API as the connector needs it (see client.py)."""
