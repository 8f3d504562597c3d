"""A Server-Sent Events client for the stream tests: reads a real HTTP response message by message."""

from dataclasses import dataclass, field

import requests


@dataclass
class Message:
    id: str | None = None
    event: str | None = None
    data: str | None = None
    retry: str | None = None
    comments: list = field(default_factory=list)


class SSEClient:
    """GET `url` and read its messages; `timeout` bounds every read, so a stream that stops talking fails
    the test instead of hanging it."""

    def __init__(self, url, *, token, tenant="acme-corp", headers=None, params=None, timeout=15):
        all_headers = {"Authorization": f"Bearer {token}", "X-Tenant-Slug": tenant,
                       "Accept": "text/event-stream", **(headers or {})}
        self.response = requests.get(url, headers=all_headers, params=params, stream=True, timeout=timeout)
        self._lines = self.response.iter_lines(chunk_size=1, decode_unicode=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.response.close()

    def message(self):
        """The next message (an event, a comment, or the retry hint); None when the stream ended."""
        message, seen = Message(), False
        for line in self._lines:
            if line == "":
                if seen:
                    return message
                continue
            seen = True
            if line.startswith(":"):
                message.comments.append(line[1:].strip())
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                message.data = value if message.data is None else message.data + "\n" + value
            elif name in ("id", "event", "retry"):
                setattr(message, name, value)
        return message if seen else None

    def events(self, count):
        """The next `count` events (comments skipped)."""
        out = []
        while len(out) < count:
            message = self.message()
            if message is None:
                raise AssertionError(f"the stream ended after {len(out)} of {count} events")
            if message.event is not None:
                out.append(message)
        return out

    def rest(self):
        """Every remaining event until the stream ends (use with maxEvents or maxSeconds)."""
        out = []
        while (message := self.message()) is not None:
            if message.event is not None:
                out.append(message)
        return out
