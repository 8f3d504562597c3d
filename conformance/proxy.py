"""The conformance run's auth-injecting reverse proxy, on 127.0.0.1 in front of the real server.

The MCP conformance harness has no option to send headers, and `/mcp` refuses a request without an API key.
This proxy adds `Authorization: Bearer <key>` (and `X-Tenant-Slug` when one is given) to each request, and
passes everything else through unchanged in both directions: the method, path and query, every other request
header as the harness sent it (Host and Origin included, so the server's DNS-rebinding checks see what the
harness sent, not the proxy's address), the body, then the server's status, headers and body. Answers are
streamed chunk by chunk as the server sends them (SSE streams included), request bodies forwarded with their
own Content-Length. Only hop-by-hop headers (Connection, Keep-Alive, Transfer-Encoding, ...) are the proxy's
own, as for any HTTP/1.1 proxy; a harness request that already carries an `Authorization` header keeps it.

Not a production component: it exists for conformance/run only.

    UPSTREAM=http://127.0.0.1:8001 MCP_KEY=plx_... [MCP_TENANT=acme-corp] \
        uvicorn conformance.proxy:app --port 8002 --no-server-header --no-date-header
"""

import os

import anyio
import httpx2

HOP_BY_HOP = {b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"te", b"trailer",
              b"upgrade", b"proxy-authorization", b"proxy-authenticate"}


class AuthProxy:
    def __init__(self, upstream, key, tenant=""):
        self.upstream = upstream.rstrip("/")
        self.key = key
        self.tenant = tenant
        self.client = None

    def _client(self):
        if self.client is None:
            # No timeout for reads: an SSE stream stays open as long as the server keeps it.
            self.client = httpx2.AsyncClient(timeout=httpx2.Timeout(30, read=None), follow_redirects=False)
        return self.client

    def request_headers(self, raw):
        headers = [(name, value) for name, value in raw if name.lower() not in HOP_BY_HOP]
        names = {name.lower() for name, _ in headers}
        if b"authorization" not in names:
            headers.append((b"authorization", b"Bearer " + self.key.encode("latin-1")))
        if self.tenant and b"x-tenant-slug" not in names:
            headers.append((b"x-tenant-slug", self.tenant.encode("latin-1")))
        return headers

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self.client is not None:
                        await self.client.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = b""
        while True:  # the whole body first: forwarded with its Content-Length, as the harness sent it
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        url = self.upstream + (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        if scope.get("query_string"):
            url += "?" + scope["query_string"].decode("latin-1")
        headers = self.request_headers(scope["headers"])
        if body and not any(name.lower() == b"content-length" for name, _ in headers):
            headers.append((b"content-length", str(len(body)).encode()))
        request = self._client().build_request(scope["method"], url, headers=headers, content=body)
        try:
            response = await self._client().send(request, stream=True)
        except httpx2.HTTPError as exc:
            message = f"conformance proxy: upstream unreachable: {exc!r}".encode()
            await send({"type": "http.response.start", "status": 502,
                        "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(message)).encode())]})
            await send({"type": "http.response.body", "body": message})
            return
        try:
            await send({"type": "http.response.start", "status": response.status_code,
                        "headers": [(name, value) for name, value in response.headers.raw
                                    if name.lower() not in HOP_BY_HOP]})
            async with anyio.create_task_group() as group:
                async def until_disconnect():  # the harness closed a stream: close the server's too
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    group.cancel_scope.cancel()

                group.start_soon(until_disconnect)
                async for chunk in response.aiter_raw():  # as sent: no decompression, each chunk as it arrives
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b""})
                group.cancel_scope.cancel()
        finally:
            await response.aclose()


app = AuthProxy(os.environ.get("UPSTREAM", "http://127.0.0.1:8001"), os.environ.get("MCP_KEY", ""),
                os.environ.get("MCP_TENANT", ""))
