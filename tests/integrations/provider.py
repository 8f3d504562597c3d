"""A real stub provider on 127.0.0.1 for the integration tests: an OAuth2 authorization server and an API.

OAuth2 (RFC 6749 + PKCE, RFC 7636):
- GET /oauth/authorize?response_type=code&client_id&redirect_uri&state&code_challenge&code_challenge_method=S256
  answers 302 to `redirect_uri?code=...&state=...` (what a user's consent would do) after checking the client
  and that the challenge is S256;
- POST /oauth/token (form): grant_type authorization_code (checks the client's id and secret, by HTTP Basic
  or in the form, the redirect_uri and the PKCE verifier against the challenge), refresh_token and
  client_credentials. Tokens last `token_lifetime` seconds; `rotate_refresh_tokens` decides whether a refresh
  returns a new refresh token; `refuse_refresh` answers invalid_grant; `token_delay` slows each answer;
  `token_failures` answers that many 503s first. Every token request is counted.

The API (any other path): answers bearer-token, API-key or basic-authenticated requests with a JSON echo
`{"method", "path", "query", "headers", "body"}` (401 for a missing or unknown credential), unless a scripted
Answer is queued for the path (`provider.script("/things", Answer(429, {"Retry-After": "1"}))`): status,
headers, JSON body and a delay before answering.
"""

import base64
import hashlib
import json
import secrets
import threading
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

CLIENT_ID = "stub-client"
CLIENT_SECRET = "stub-secret"
API_KEY = "stub-api-key"
BASIC = ("stub-user", "stub-password")


@dataclass
class Answer:
    status: int = 200
    headers: dict = field(default_factory=dict)
    body: object = None
    delay: float = 0.0


def s256(verifier):
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class Provider:
    def __init__(self):
        self.lock = threading.Lock()
        self.clients = {CLIENT_ID: CLIENT_SECRET}
        self.codes = {}  # code -> (client_id, redirect_uri, challenge, scope)
        self.access_tokens = {}  # token -> expires at (epoch)
        self.refresh_tokens = set()
        self.token_lifetime = 3600
        self.rotate_refresh_tokens = True
        self.refuse_refresh = False
        self.token_delay = 0.0
        self.token_failures = 0
        self.token_requests = Counter()  # grant_type -> count
        self.scripts = defaultdict(deque)
        self.default_delay = 0.0
        self.requests = []  # (method, path, headers) of API calls
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    # The test's side

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def script(self, path, *answers):
        with self.lock:
            self.scripts[path].extend(answers)

    def issue_access_token(self, lifetime=None):
        token = "at_" + secrets.token_urlsafe(16)
        with self.lock:
            self.access_tokens[token] = time.time() + (self.token_lifetime if lifetime is None else lifetime)
        return token

    def api_calls(self, path=None):
        with self.lock:
            return [call for call in self.requests if path is None or call[1] == path]

    # The server's side

    def _token_answer(self, client_id, scope=""):
        access = self.issue_access_token()
        body = {"access_token": access, "token_type": "Bearer", "expires_in": self.token_lifetime, "scope": scope}
        return body

    def _client_of(self, handler, form):
        header = handler.headers.get("Authorization", "")
        if header.startswith("Basic "):
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        return client_id if self.clients.get(client_id) == secret and secret else None

    def token(self, handler, form):
        grant = form.get("grant_type", "")
        with self.lock:
            self.token_requests[grant] += 1
            failing = self.token_failures > 0
            if failing:
                self.token_failures -= 1
        if self.token_delay:
            time.sleep(self.token_delay)
        if failing:
            return 503, {"error": "temporarily_unavailable"}
        client_id = self._client_of(handler, form)
        if client_id is None:
            return 401, {"error": "invalid_client"}
        if grant == "authorization_code":
            with self.lock:
                issued = self.codes.pop(form.get("code", ""), None)
            if issued is None or issued[0] != client_id or issued[1] != form.get("redirect_uri"):
                return 400, {"error": "invalid_grant", "error_description": "unknown code or redirect_uri"}
            if s256(form.get("code_verifier", "")) != issued[2]:
                return 400, {"error": "invalid_grant", "error_description": "PKCE verification failed"}
            body = self._token_answer(client_id, issued[3])
            refresh = "rt_" + secrets.token_urlsafe(16)
            with self.lock:
                self.refresh_tokens.add(refresh)
            body["refresh_token"] = refresh
            return 200, body
        if grant == "refresh_token":
            with self.lock:
                known = form.get("refresh_token") in self.refresh_tokens
            if self.refuse_refresh or not known:
                return 400, {"error": "invalid_grant", "error_description": "refresh token revoked"}
            body = self._token_answer(client_id)
            if self.rotate_refresh_tokens:
                refresh = "rt_" + secrets.token_urlsafe(16)
                with self.lock:
                    self.refresh_tokens.discard(form["refresh_token"])
                    self.refresh_tokens.add(refresh)
                body["refresh_token"] = refresh
            return 200, body
        if grant == "client_credentials":
            return 200, self._token_answer(client_id, form.get("scope", ""))
        return 400, {"error": "unsupported_grant_type"}

    def authorize(self, query):
        client_id, redirect_uri = query.get("client_id", ""), query.get("redirect_uri", "")
        if client_id not in self.clients or not redirect_uri:
            return 400, {}, {"error": "invalid_client"}
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return 400, {}, {"error": "invalid_request", "error_description": "PKCE S256 required"}
        code = "code_" + secrets.token_urlsafe(12)
        with self.lock:
            self.codes[code] = (client_id, redirect_uri, query["code_challenge"], query.get("scope", ""))
        location = redirect_uri + ("&" if "?" in redirect_uri else "?") + urlencode(
            {"code": code, "state": query.get("state", "")})
        return 302, {"Location": location}, None

    def authenticated(self, headers, query):
        auth = headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            with self.lock:
                expires = self.access_tokens.get(auth[7:])
            return expires is not None and expires > time.time()
        if auth.startswith("Basic "):
            return base64.b64decode(auth[6:]).decode() == ":".join(BASIC)
        return headers.get("X-Api-Key") == API_KEY or query.get("api_key") == API_KEY or auth == f"Key {API_KEY}"

    def api(self, method, path, query, headers, body):
        with self.lock:
            self.requests.append((method, path, dict(headers)))
            scripted = self.scripts[path].popleft() if self.scripts.get(path) else None
        if scripted is not None:
            if scripted.delay:
                time.sleep(scripted.delay)
            return scripted.status, scripted.headers, scripted.body
        if self.default_delay:
            time.sleep(self.default_delay)
        if path.startswith("/public/"):
            return 200, {}, {"method": method, "path": path, "query": query, "body": body}
        if not self.authenticated(headers, query):
            return 401, {"WWW-Authenticate": "Bearer"}, {"message": "Bad credentials"}
        return 200, {}, {"method": method, "path": path, "query": query, "headers": dict(headers), "body": body}

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, status, headers, body):
                data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if data and "Content-Type" not in (headers or {}):
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self):
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _handle(self):
                parts = urlsplit(self.path)
                query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
                raw = self._body()
                try:
                    if parts.path == "/oauth/token" and self.command == "POST":
                        form = {key: values[-1] for key, values in parse_qs(raw.decode()).items()}
                        status, body = provider.token(self, form)
                        return self._send(status, {"Cache-Control": "no-store"}, body)
                    if parts.path == "/oauth/authorize" and self.command == "GET":
                        return self._send(*provider.authorize(query))
                    body = json.loads(raw) if raw else None
                    return self._send(*provider.api(self.command, parts.path, query, self.headers, body))
                except BrokenPipeError:
                    pass

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

        return Handler
