#!/usr/bin/env python3
"""ClickHouse HTTP-interface bridge on top of chDB (dev/test tool only).

Serves the subset of ClickHouse's HTTP interface that clickhouse-go v2
(Protocol: clickhouse.HTTP) uses, executing every statement in one in-process
chDB session (the real ClickHouse engine). Production uses a real ClickHouse
server; see README.md in this directory for what works and the limits.

Usage:
    python3 bridge.py --port 0 --data-dir /tmp/chdata [--log bridge.log]

Prints "CHDB_ADDR=127.0.0.1:PORT" on stdout once it accepts connections.
SIGTERM / SIGINT stop it cleanly (the chDB session is closed, data stays in
--data-dir and is visible again after a restart on the same directory).
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import re
import signal
import sys
import threading
import time
import urllib.parse
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:
    import chdb.session as chs
except ImportError as exc:  # pragma: no cover - reported to the caller
    sys.stderr.write(f"chdb is not installed ({exc}); run deployments/chdb/install.sh\n")
    sys.exit(3)

log = logging.getLogger("chdb-bridge")

# URL parameters that only concern the HTTP transport (or that the bridge
# implements itself); they are never turned into ClickHouse settings.
TRANSPORT_PARAMS = {
    "query",                      # SQL text (alternative to the body)
    "database",                   # -> USE <db> before the statement
    "default_format",             # output format when the SQL has no FORMAT
    "client_protocol_version",    # see README: Native output is revision 0
    "query_id",                   # echoed in X-ClickHouse-Query-Id
    "quota_key",
    "session_id", "session_timeout", "session_check",  # one shared session
    "compress", "decompress",     # ClickHouse block compression (rejected when "1")
    "enable_http_compression", "http_zlib_compression_level",
    "http_native_compression_disable_checksumming_on_decompress",
    "network_compression_method", "network_zstd_compression_level",
    "wait_end_of_query", "buffer_size", "http_response_buffer_size",  # always buffered
    "send_progress_in_http_headers", "http_headers_progress_interval_ms",
    "cancel_http_readonly_queries_on_client_close",
    "add_http_cors_header", "user", "password", "readonly",
}

# clickhouse-go's server-hello query. chDB can only emit Native blocks in the
# revision-0 layout (no BlockInfo, no per-column custom-serialization flag),
# because it has no client_protocol_version. Reporting revision() = 0 makes
# clickhouse-go decode exactly that layout for every later query.
HELLO_RE = re.compile(r"^\s*SELECT\s+displayName\(\)\s*,\s*version\(\)\s*,\s*revision\(\)\s*,\s*timezone\(\)\s*;?\s*$", re.I)
# The hello reply itself is decoded by clickhouse-go with its own protocol
# revision (client_protocol_version), so the bridge encodes that one block.
CUSTOM_SERIALIZATION_REVISION = 54454  # DBMS_MIN_REVISION_WITH_CUSTOM_SERIALIZATION


def _uvarint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _str(s: str) -> bytes:
    b = s.encode()
    return _uvarint(len(b)) + b


def encode_hello(display_name: str, version: str, timezone: str, revision: int) -> bytes:
    """Native block for SELECT displayName(), version(), revision(), timezone()
    in the layout of the given client protocol revision, reporting revision 0."""
    cols = [("displayName()", "String", _str(display_name)),
            ("version()", "String", _str(version)),
            ("revision()", "UInt32", (0).to_bytes(4, "little")),
            ("timezone()", "String", _str(timezone))]
    out = bytearray()
    if revision > 0:  # BlockInfo: field 1 is_overflows=false, field 2 bucket_num=-1, end
        out += _uvarint(1) + b"\x00" + _uvarint(2) + (-1).to_bytes(4, "little", signed=True) + _uvarint(0)
    out += _uvarint(len(cols)) + _uvarint(1)
    for name, typ, data in cols:
        out += _str(name) + _str(typ)
        if revision >= CUSTOM_SERIALIZATION_REVISION:
            out += b"\x00"
        out += data
    return bytes(out)

# INSERT ... FORMAT <fmt> [inline data]: data follows the statement.
INSERT_FORMAT_RE = re.compile(
    r"^\s*(?P<head>INSERT\s+INTO\s.*?)\s+FORMAT\s+(?P<fmt>[A-Za-z0-9_]+)(?:[ \t]*\r?\n|[ \t]+|$)(?P<rest>.*)$",
    re.I | re.S,
)
FORMAT_CLAUSE_RE = re.compile(r"\bFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$", re.I)
CODE_RE = re.compile(r"Code:\s*(\d+)\.")

CONTENT_TYPES = {
    "Native": "application/octet-stream",
    "RowBinary": "application/octet-stream",
    "RowBinaryWithNamesAndTypes": "application/octet-stream",
    "Parquet": "application/octet-stream",
    "Arrow": "application/octet-stream",
    "ArrowStream": "application/octet-stream",
    "TabSeparated": "text/tab-separated-values; charset=UTF-8",
    "TSV": "text/tab-separated-values; charset=UTF-8",
    "JSON": "application/json; charset=UTF-8",
    "JSONEachRow": "application/x-ndjson; charset=UTF-8",
    "JSONCompact": "application/json; charset=UTF-8",
    "CSV": "text/csv; charset=UTF-8",
}


class BridgeError(Exception):
    """An exception rendered to the client like a ClickHouse server exception."""

    def __init__(self, code: int, message: str, status: int = 500):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class Engine:
    """One chDB session; every call is serialized by a lock."""

    def __init__(self, data_dir: str | None):
        self.lock = threading.Lock()
        self.session = chs.Session(data_dir) if data_dir else chs.Session()
        self.applied: dict[str, str] = {}  # settings currently SET in the session
        self.database = "default"
        info = self._query("SELECT displayName(), version(), timezone()", "TSV").split("\t")
        self.display_name, self.version, self.timezone = (x.strip() for x in info)

    def _query(self, sql: str, fmt: str = "TSV", params=None) -> str:
        return bytes(self.session.query(sql, fmt, params=params).bytes()).decode()

    def close(self):
        with self.lock:
            try:
                self.session.close()
            except Exception:  # noqa: BLE001
                log.exception("closing chDB session")

    # -- per-request state --------------------------------------------------
    def _prepare(self, database: str | None, settings: dict[str, str]):
        want_db = database or "default"
        if want_db != self.database:
            self.session.query(f"USE {quote_ident(want_db)}", "TSV")
            self.database = want_db
        for name in list(self.applied):
            if name not in settings:
                self.session.query(f"SET {quote_ident(name)} = DEFAULT", "TSV")
                del self.applied[name]
        for name, value in settings.items():
            if self.applied.get(name) != value:
                try:
                    self.session.query(f"SET {quote_ident(name)} = {quote_str(value)}", "TSV")
                except Exception:
                    self.applied.pop(name, None)
                    raise
                self.applied[name] = value

    def run(self, sql: str, fmt: str, database, settings, params, data: bytes | None, insert_fmt: str | None):
        """Returns (body bytes, summary dict)."""
        with self.lock:
            self._prepare(database, settings)
            start = time.monotonic_ns()
            if insert_fmt is not None:
                ins = self.session.send_insert(sql, insert_fmt)
                try:
                    if data:
                        ins.append(data)
                    res = ins.finish()
                except BaseException:
                    try:
                        ins.cancel()
                    except Exception:  # noqa: BLE001
                        pass
                    raise
                written = _call(res, "rows_written")
                summary = {"written_rows": written, "written_bytes": _call(res, "bytes_written") or len(data or b""),
                           "read_rows": written, "read_bytes": len(data or b""), "result_rows": 0, "result_bytes": 0}
                body = b""
            else:
                res = self.session.query(sql, fmt, params=params or None)
                body = bytes(res.bytes())
                summary = {"read_rows": _call(res, "rows_read"), "read_bytes": _call(res, "bytes_read"),
                           "written_rows": _call(res, "rows_written"), "written_bytes": _call(res, "bytes_written"),
                           "result_rows": _call(res, "rows_read"), "result_bytes": len(body)}
            summary["elapsed_ns"] = time.monotonic_ns() - start
            summary["total_rows_to_read"] = 0
            return body, {k: str(v or 0) for k, v in summary.items()}


def _call(obj, name):
    v = getattr(obj, name, None)
    try:
        return v() if callable(v) else v
    except Exception:  # noqa: BLE001
        return None


def quote_ident(name: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        return name
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def quote_str(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def clean_error(msg: str) -> tuple[int, str]:
    """chDB sometimes prefixes its exception text twice; normalise to the
    server form "Code: N. DB::Exception: ... (NAME) (version X)"."""
    msg = msg.strip()
    m = re.match(r"^(Code:\s*\d+\.\s*DB::Exception:\s*)(Code:\s*\d+\.\s*DB::Exception:.*)$", msg, re.S)
    if m:
        msg = m.group(2)
    m = CODE_RE.search(msg)
    code = int(m.group(1)) if m else 1001
    if not m:
        msg = f"Code: {code}. DB::Exception: {msg}"
    return code, msg


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "chdb-bridge"
    engine: Engine = None  # set in main

    def log_message(self, fmt, *args):  # route http.server logs to our logger
        log.info("%s %s", self.address_string(), fmt % args)

    # -- helpers -------------------------------------------------------------
    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            body = b"".join(chunks)
        else:
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
        enc = (self.headers.get("Content-Encoding") or "").strip().lower()
        if enc in ("", "identity", "none"):
            return body
        if enc in ("gzip", "x-gzip"):
            return gzip.decompress(body)
        if enc == "deflate":
            try:
                return zlib.decompress(body)
            except zlib.error:
                return zlib.decompress(body, -zlib.MAX_WBITS)
        if enc in ("br", "brotli"):
            try:
                import brotli  # type: ignore
            except ImportError:
                raise BridgeError(1001, f"Content-Encoding {enc} is not supported by the chDB bridge (use none or gzip)", 415)
            return brotli.decompress(body)
        raise BridgeError(1001, f"Content-Encoding {enc} is not supported by the chDB bridge (use none or gzip)", 415)

    def _send(self, status: int, body: bytes, headers: dict[str, str]):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _base_headers(self, query_id: str) -> dict[str, str]:
        e = self.engine
        return {
            "X-ClickHouse-Server-Display-Name": e.display_name,
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Timezone": e.timezone,
            "Keep-Alive": "timeout=10",
        }

    # -- routes --------------------------------------------------------------
    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path in ("/ping", "/replicas_status"):
            return self._send(200, b"Ok.\n", {"Content-Type": "text/plain; charset=UTF-8"})
        if path == "/" and "query=" not in self.path:
            return self._send(200, b"Ok.\n", {"Content-Type": "text/plain; charset=UTF-8"})
        self._handle(readonly=True)

    def do_POST(self):
        self._handle(readonly=False)

    def _handle(self, readonly: bool):
        parts = urllib.parse.urlsplit(self.path)
        params = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
        query_id = params.get("query_id") or str(uuid.uuid4())
        try:
            body = b"" if readonly else self._read_body()
        except BridgeError as exc:
            self.close_connection = True
            return self._error(exc.code, exc.message, query_id, exc.status)
        except Exception as exc:  # noqa: BLE001
            self.close_connection = True
            return self._error(1001, f"cannot read request body: {exc}", query_id, 400)
        if parts.path not in ("/", ""):
            return self._error(1001, f"There is no handle {parts.path}", query_id, 404)
        try:
            self._execute(params, body, query_id, readonly)
        except BridgeError as exc:
            self._error(exc.code, exc.message, query_id, exc.status)
        except Exception as exc:  # noqa: BLE001 - chDB raises ChdbError/RuntimeError
            code, msg = clean_error(str(exc))
            self._error(code, msg, query_id, 500)

    def _execute(self, params: dict[str, str], body: bytes, query_id: str, readonly: bool):
        ctype = self.headers.get("Content-Type", "")
        if ctype.startswith("multipart/form-data"):
            raise BridgeError(48, "external tables (multipart/form-data) are not supported by the chDB bridge", 501)
        for p in ("compress", "decompress"):
            if params.get(p, "0") not in ("0", "", "false"):
                raise BridgeError(48, f"{p}=1 (ClickHouse LZ4/ZSTD block compression) is not supported by the chDB "
                                      "bridge; configure clickhouse-go with Compression none or gzip", 501)

        settings, qparams = {}, {}
        for k, v in params.items():
            if k.startswith("param_"):
                qparams[k[len("param_"):]] = v
            elif k in TRANSPORT_PARAMS:
                continue
            else:
                settings[k] = v

        url_query = params.get("query", "")
        sql, data, insert_fmt = url_query, None, None
        m = INSERT_FORMAT_RE.match(url_query) if url_query else None
        if m:  # INSERT ... FORMAT X in the URL, data in the body
            sql, insert_fmt = m.group("head"), m.group("fmt")
            data = m.group("rest").encode() + body
        else:
            text = body.decode("utf-8", errors="surrogateescape") if body else ""
            if url_query and text:
                text = url_query + "\n" + text
            elif url_query:
                text = url_query
            m = INSERT_FORMAT_RE.match(text)
            if m:
                sql, insert_fmt = m.group("head"), m.group("fmt")
                data = m.group("rest").encode("utf-8", errors="surrogateescape")
            else:
                sql = text
        if not sql.strip():
            raise BridgeError(62, "Empty query", 400)
        if readonly and not re.match(r"^\s*(SELECT|WITH|SHOW|DESC|DESCRIBE|EXISTS|EXPLAIN)\b", sql, re.I):
            raise BridgeError(164, "Cannot execute query in readonly mode (GET requests are read-only)", 500)

        fmt = params.get("default_format") or "TabSeparated"
        if HELLO_RE.match(sql) and fmt == "Native":
            e = self.engine
            try:
                rev = int(params.get("client_protocol_version") or 0)
            except ValueError:
                rev = 0
            headers = self._base_headers(query_id)
            headers["X-ClickHouse-Format"] = "Native"
            headers["Content-Type"] = CONTENT_TYPES["Native"]
            headers["X-ClickHouse-Summary"] = json.dumps({"read_rows": "1", "read_bytes": "1", "written_rows": "0",
                                                          "written_bytes": "0", "result_rows": "1"}, separators=(",", ":"))
            return self._send(200, encode_hello(e.display_name, e.version, e.timezone, rev), headers)
        out_fmt = fmt
        fm = FORMAT_CLAUSE_RE.search(sql) if insert_fmt is None else None
        if fm:
            out_fmt = fm.group(1)

        log.debug("query_id=%s settings=%s sql=%r insert_fmt=%s data=%d bytes", query_id, settings, sql[:500],
                  insert_fmt, len(data or b""))
        result, summary = self.engine.run(sql, fmt, params.get("database"), settings, qparams, data, insert_fmt)
        headers = self._base_headers(query_id)
        headers["X-ClickHouse-Format"] = out_fmt
        headers["X-ClickHouse-Summary"] = json.dumps(summary, separators=(",", ":"))
        headers["Content-Type"] = CONTENT_TYPES.get(out_fmt, "text/plain; charset=UTF-8")
        self._send(200, result, headers)

    def _error(self, code: int, msg: str, query_id: str, status: int):
        if not msg.startswith("Code:"):
            msg = f"Code: {code}. DB::Exception: {msg}"
        if "(version " not in msg:
            msg += f" (version {self.engine.version})"
        log.warning("query_id=%s error: %s", query_id, msg)
        headers = self._base_headers(query_id)
        headers["X-ClickHouse-Exception-Code"] = str(code)
        headers["Content-Type"] = "text/plain; charset=UTF-8"
        self._send(status, (msg + "\n").encode(), headers)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=8123, help="port, 0 = pick a free port (default 8123)")
    ap.add_argument("--data-dir", default="", help="persistent chDB session directory (default: temporary)")
    ap.add_argument("--log", default="", help="log file (default: warnings to stderr)")
    ap.add_argument("--debug", action="store_true", help="log every statement")
    args = ap.parse_args(argv)

    if args.host not in ("127.0.0.1", "::1", "localhost"):
        ap.error("the chDB bridge only binds loopback addresses")
    level = logging.DEBUG if args.debug else (logging.INFO if args.log else logging.WARNING)
    handler = logging.FileHandler(args.log) if args.log else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(level)

    if args.data_dir:
        os.makedirs(args.data_dir, exist_ok=True)
    engine = Engine(args.data_dir or None)
    Handler.engine = engine

    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.daemon_threads = True
    httpd = ThreadingHTTPServer((args.host, args.port), Handler)
    host, port = httpd.server_address[:2]

    def stop(signum, _frame):
        log.info("signal %d: shutting down", signum)
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    log.info("listening on %s:%d data_dir=%s chdb engine %s", host, port, args.data_dir or "(temp)", engine.version)
    sys.stdout.write(f"CHDB_ADDR={host}:{port}\n")
    sys.stdout.flush()
    try:
        httpd.serve_forever(poll_interval=0.1)
    finally:
        httpd.server_close()
        engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
