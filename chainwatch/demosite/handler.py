"""The HTTP side: one ThreadingHTTPServer per site and the request handler they share."""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import socket
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from chainwatch.demosite.faults import Fault, gzip_bomb
from chainwatch.demosite.pages import Page

if TYPE_CHECKING:
    from chainwatch.demosite.server import DemoWeb

GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)
ENDLESS_BLOCK = ("<p>" + "产业链动态持续更新中，" * 500 + "</p>\n").encode("utf-8")


class SiteServer(ThreadingHTTPServer):
    """One demo site. A deep listen backlog: the default of 5 stalls under a concurrent crawler."""

    request_queue_size = 1024
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], web: DemoWeb, site_key: str, server_header: str) -> None:
        self.web = web
        self.site_key = site_key
        self.server_header = server_header
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, DemoHandler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # skip HTTPServer's getfqdn(), a DNS lookup
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._connections_lock:
            (self._connections.add if add else self._connections.discard)(conn)

    def drop_connections(self) -> None:
        with self._connections_lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class DemoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # an idle keep-alive connection is dropped after this
    server: SiteServer
    _entry: dict[str, Any] | None

    # --- plumbing --------------------------------------------------------------------------------
    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        except GONE:
            pass
        finally:
            self.server.track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def version_string(self) -> str:
        return self.server.server_header

    def send_response(self, code: int, message: str | None = None) -> None:
        self._status = code
        super().send_response(code, message)

    def do_GET(self) -> None:
        self._handle(head=False)

    def do_HEAD(self) -> None:
        self._handle(head=True)

    def do_POST(self) -> None:
        self._handle(head=False, allowed=False)

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_POST

    @property
    def web(self) -> DemoWeb:
        return self.server.web

    def _handle(self, head: bool, allowed: bool = True) -> None:
        self._arrived = time.time()
        self._status, self._sent, self._entry = 0, 0, None
        parts = urlsplit(self.path)
        self._path, self._query = unquote(parts.path) or "/", parts.query
        try:
            if self.web.latency_ms:
                time.sleep(self.web.latency_ms / 1000)
            if not allowed:
                self._send_bytes(405, b"", "text/html", head, extra={"Allow": "GET, HEAD"})
            else:
                self._dispatch(self._path, head)
        except GONE:
            self.close_connection = True
            if self._entry is None:
                self._log(error="client went away")
            else:
                self._entry["error"] = "client went away"
        else:
            if self._entry is None:
                self._log()

    def _log(self, sent: int | None = None, error: str | None = None) -> None:
        """Write the access-log entry. Fixed-size answers log just before their last write, so a client
        that has its answer also finds it in `DemoWeb.requests()`."""
        self._entry = self.web.record(self.server.site_key, self._arrived, self.command, self._path, self._query,
                                      self._status, self._sent if sent is None else sent,
                                      dict(self.headers.items()), error)

    # --- answers ---------------------------------------------------------------------------------
    def _dispatch(self, path: str, head: bool) -> None:
        state = self.web.state(self.server.site_key)
        fault = state.faults.get(path) if self.web.faults else None
        if fault is not None:
            self._fault(path, fault, head)
            return
        page = state.pages.get(path)
        if page is None and not path.endswith("/") and path + "/" in state.pages:
            self._send_bytes(301, b"", "text/html", head, {"Location": path + "/"})  # as WordPress does
        elif page is None:
            self._send_page(404, state.not_found, head, conditional=False)
        else:
            self._send_page(200, page, head)

    def _not_modified(self, page: Page) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:  # when present, If-Modified-Since is ignored (RFC 9110)
            tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
            return "*" in tags or page.etag in tags
        ims = self.headers.get("If-Modified-Since")
        if ims and page.last_modified is not None:
            try:
                since = email.utils.parsedate_to_datetime(ims)
            except (TypeError, ValueError):
                return False
            if since.tzinfo is None:
                return False
            return page.last_modified.replace(microsecond=0) <= since
        return False

    def _validators(self, page: Page) -> dict[str, str]:
        headers = {"ETag": page.etag} if page.etag else {}
        if page.last_modified is not None:
            headers["Last-Modified"] = email.utils.format_datetime(page.last_modified.astimezone(dt.UTC), usegmt=True)
        return headers

    def _send_page(self, status: int, page: Page, head: bool, conditional: bool = True) -> None:
        if conditional and status == 200 and self._not_modified(page):
            self.send_response(304)
            for name, value in self._validators(page).items():
                self.send_header(name, value)
            self._log()
            self.end_headers()
            return
        extra = self._validators(page)
        if page.encoding:
            extra["Content-Encoding"] = page.encoding
        self._send_bytes(status, page.body, page.content_type, head, extra)

    def _send_bytes(self, status: int, body: bytes, content_type: str, head: bool,
                    extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self._log(sent=0 if head else len(body))
        self.end_headers()
        if not head and body:
            self.wfile.write(body)
            self._sent += len(body)

    def _error_page(self, status: int, text: str, head: bool, extra: dict[str, str] | None = None) -> None:
        body = (f"<html>\r\n<head><title>{status} {text}</title></head>\r\n<body>\r\n"
                f"<center><h1>{status} {text}</h1></center>\r\n<hr><center>{self.server.server_header}</center>\r\n"
                "</body>\r\n</html>\r\n").encode("ascii")
        self._send_bytes(status, body, "text/html", head, extra)

    def _fault(self, path: str, fault: Fault, head: bool) -> None:
        web = self.web
        if fault.kind == "flaky" and fault.page is not None:
            if web.bump(self.server.site_key, path) <= 2:
                self._error_page(500, "Internal Server Error", head)
            else:
                self._send_page(200, fault.page, head)
        elif fault.kind == "busy" and fault.page is not None:
            if web.bump(self.server.site_key, path) == 1:
                self._error_page(429, "Too Many Requests", head, {"Retry-After": "1"})
            else:
                self._send_page(200, fault.page, head)
        elif fault.kind == "hang" and fault.page is not None:
            if web.stopping.wait(web.hang_seconds):
                self.close_connection = True
                self._log(error="server stopped")
                return
            self._send_page(200, fault.page, head, conditional=False)
        elif fault.kind == "static" and fault.page is not None:
            self._send_page(200, fault.page, head, conditional=False)
        elif fault.kind == "redirect":
            self._send_bytes(fault.status, b"", "text/html", head, {"Location": fault.location})
        elif fault.kind == "bomb":
            self._send_bytes(200, gzip_bomb(), "text/html; charset=utf-8", head, {"Content-Encoding": "gzip"})
        elif fault.kind == "endless":
            self._endless(head)

    def _endless(self, head: bool) -> None:
        """A chunked body that never ends: until the client goes away, or `endless_seconds` pass."""
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if head:
            return
        deadline = time.monotonic() + self.web.endless_seconds
        self._chunk("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>实时动态</title></head><body>\n"
                    .encode())
        while time.monotonic() < deadline and not self.web.stopping.is_set():
            self._chunk(ENDLESS_BLOCK)
            time.sleep(0.005)
        self.wfile.write(b"0\r\n\r\n")

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode("ascii") + data + b"\r\n")
        self._sent += len(data)
