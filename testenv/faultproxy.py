#!/usr/bin/env python3
"""A fault-injecting HTTP(S) proxy for kfp-iam's integration tests.

It sits between kfp-iam and one loopback upstream (moto or the testenv
kube-apiserver), forwards requests untouched and, with a seeded probability,
answers with a throttling error, a server error, a dropped connection or a
delay instead. Standard library only. See faultproxy.md for the flags and how
tests use it.
"""

import argparse
import http.client
import http.server
import ipaddress
import json
import os
import random
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.parse
import uuid

FAULTS = ("throttle", "error500", "drop", "delay")

# Hop-by-hop headers (RFC 9110 7.6.1) are about one connection and are not
# forwarded. Expect is answered by this proxy (the body is read before the
# request goes upstream), and the body is re-sent with its own framing.
HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-connection", "proxy-authenticate",
    "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
    "expect",
}

UPSTREAM_TIMEOUT = 120  # seconds; kube watches may stream longer: see faultproxy.md
CLIENT_IDLE_TIMEOUT = 300  # seconds a kept-alive client connection may idle


def die(message):
    print(f"faultproxy: error: {message}", file=sys.stderr)
    sys.exit(2)


def is_loopback_host(host):
    """True when every address HOST names is a loopback address."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    if host != "localhost":
        # Only literal loopback addresses and `localhost`: no other name is
        # resolved, so the proxy never depends on (or leaks to) DNS.
        return False
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


def write_atomic(path, text):
    tmp = f"{path}.tmp.{os.getpid()}.{threading.get_ident()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


class Stats:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.data = {
            "requests": 0,
            "forwarded": 0,
            "upstream_errors": 0,
            "faults": {name: 0 for name in FAULTS},
        }
        self._write()

    def _write(self):
        if self.path:
            write_atomic(self.path, json.dumps(self.data, sort_keys=True) + "\n")

    def count(self, key):
        with self.lock:
            self.data[key] += 1
            self._write()

    def count_fault(self, fault):
        with self.lock:
            self.data["faults"][fault] += 1
            self._write()


class FaultPicker:
    """Seeded, thread-safe choice of the fault (or None) for each request."""

    def __init__(self, rate, faults, seed, max_faults):
        self.rate = rate
        self.faults = faults
        self.rng = random.Random(seed)
        self.left = max_faults  # None: unlimited
        self.lock = threading.Lock()

    def pick(self):
        with self.lock:
            # Both draws happen for every request, so the sequence for a given
            # seed does not depend on which faults were enabled or used up.
            hit = self.rng.random() < self.rate
            fault = self.rng.choice(self.faults)
            if not hit or self.left == 0:
                return None
            if self.left is not None:
                self.left -= 1
            return fault


# ---------------------------------------------------------------------------
# Error bodies


def aws_error(request_headers, status, code, message):
    """An AWS error in the protocol the request used.

    Query-protocol services (IAM, STS: form-encoded POST bodies) get the
    <ErrorResponse> XML; JSON services (EKS is restJson1) get a JSON body
    and the x-amzn-ErrorType header, which is where their SDK clients read
    the error code from.
    """
    request_id = str(uuid.uuid4())
    ctype = (request_headers.get("Content-Type") or "").lower()
    if ctype.startswith("application/x-www-form-urlencoded"):
        kind = "Sender" if status < 500 else "Receiver"
        body = (
            "<ErrorResponse>"
            f"<Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>\n"
        )
        headers = [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)]
    else:
        body = json.dumps({"__type": code, "message": message}) + "\n"
        headers = [
            ("Content-Type", "application/json"),
            ("x-amzn-ErrorType", code),
            ("x-amzn-RequestId", request_id),
        ]
    return status, headers, body.encode()


def kube_status(status, reason, message, retry_after=None):
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": status,
    }
    headers = [("Content-Type", "application/json")]
    if retry_after is not None:
        body["details"] = {"retryAfterSeconds": retry_after}
        headers.append(("Retry-After", str(retry_after)))
    return status, headers, (json.dumps(body) + "\n").encode()


def fault_response(cfg, request_headers, fault):
    if cfg.flavor == "aws":
        if fault == "throttle":
            return aws_error(request_headers, 400, "Throttling", "Rate exceeded")
        return aws_error(request_headers, 500, "InternalFailure",
                         "The request processing has failed because of an unknown error.")
    if fault == "throttle":
        return kube_status(429, "TooManyRequests",
                           "Too many requests, please try again later.", cfg.retry_after)
    return kube_status(500, "InternalError", "Internal error occurred: injected by faultproxy")


def bad_gateway(cfg, request_headers, detail):
    if cfg.flavor == "aws":
        return aws_error(request_headers, 502, "InternalFailure",
                         f"faultproxy: upstream failed: {detail}")
    return kube_status(502, "InternalError", f"faultproxy: upstream failed: {detail}")


# ---------------------------------------------------------------------------
# The proxy


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = CLIENT_IDLE_TIMEOUT
    server_version = "faultproxy"

    def setup(self):
        ctx = self.server.cfg.server_tls
        if ctx is not None:
            # The handshake runs here, in the connection's own thread, so a
            # slow or failing client never blocks accepting others.
            self.request.settimeout(30)
            self.request = ctx.wrap_socket(self.request, server_side=True)
        super().setup()

    def finish(self):
        try:
            super().finish()
        finally:
            if self.server.cfg.server_tls is not None:
                # The TLS socket took over the accepted socket's descriptor.
                self.request.close()

    def log_message(self, fmt, *args):  # the default logs every request line
        pass

    def _log(self, what, body=None):
        cfg = self.server.cfg
        if not cfg.verbose:
            return
        path = self.path
        if cfg.flavor == "aws":
            # No query string (it could hold a presigned signature); for the
            # Query protocol the operation name is the body's Action
            # parameter, and only that parameter is logged. Headers
            # (Authorization among them) are never logged.
            path = path.split("?", 1)[0]
            ctype = (self.headers.get("Content-Type") or "").lower()
            if body and ctype.startswith("application/x-www-form-urlencoded"):
                try:
                    form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
                except ValueError:
                    form = {}
                action = form.get("Action", [""])[0]
                if action.isalnum():
                    path += f" Action={action}"
        print(f"faultproxy: {self.command} {path} -> {what}", file=sys.stderr, flush=True)

    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # Trailers, up to the empty line.
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
        length = self.headers.get("Content-Length")
        if length is None:
            return None
        return self.rfile.read(int(length))

    def _send(self, status, headers, body, head=False):
        self.send_response_only(status)
        for name, value in headers:
            self.send_header(name, value)
        if not any(n.lower() == "date" for n, _ in headers):
            self.send_header("Date", self.date_time_string())
        if status >= 200 and status not in (204, 304) and not head:
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not head and body:
            self.wfile.write(body)

    def _drop(self):
        # No response at all: an abrupt close, as from a crashed or
        # overloaded load balancer. (For TLS no close_notify is sent.)
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _proxy(self):
        server = self.server
        cfg = server.cfg
        stats = server.stats
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        stats.count("requests")
        fault = server.picker.pick()
        if fault is not None:
            stats.count_fault(fault)
        self._log(fault or "forward", body)

        if fault == "drop":
            self._drop()
            return
        if fault in ("throttle", "error500"):
            status, headers, payload = fault_response(cfg, self.headers, fault)
            self._send(status, headers, payload, head=self.command == "HEAD")
            return
        if fault == "delay":
            time.sleep(cfg.delay_ms / 1000)
        self._forward(body)

    def _forward(self, body):
        cfg = self.server.cfg
        stats = self.server.stats
        head = self.command == "HEAD"
        if cfg.upstream_tls is not None:
            conn = http.client.HTTPSConnection(cfg.up_host, cfg.up_port, timeout=UPSTREAM_TIMEOUT,
                                               context=cfg.upstream_tls)
        else:
            conn = http.client.HTTPConnection(cfg.up_host, cfg.up_port, timeout=UPSTREAM_TIMEOUT)
        try:
            conn.putrequest(self.command, cfg.up_prefix + self.path,
                            skip_host=True, skip_accept_encoding=True)
            has_length = False
            for name, value in self.headers.items():
                lname = name.lower()
                if lname in HOP_BY_HOP:
                    continue
                if lname == "content-length":
                    has_length = True
                    # Re-stated from the body actually read (the same value
                    # unless the client sent it chunked).
                    value = str(len(body or b""))
                conn.putheader(name, value)
            if body is not None and not has_length:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body if body else None)
            resp = conn.getresponse()
            stream = (not head and resp.getheader("Content-Length") is None
                      and resp.status >= 200 and resp.status not in (204, 304)
                      and self.request_version == "HTTP/1.1")
            data = b"" if head or stream else resp.read()
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            stats.count("upstream_errors")
            self._log(f"upstream error: {type(e).__name__}")
            status, headers, payload = bad_gateway(cfg, self.headers, type(e).__name__)
            self._send(status, headers, payload, head=head)
            return

        stats.count("forwarded")
        headers = [(n, v) for n, v in resp.getheaders()
                   if n.lower() not in HOP_BY_HOP
                   and (n.lower() != "content-length" or head)]
        try:
            if stream:
                self._stream(resp, headers)
            else:
                self._send(resp.status, headers, data, head=head)
        finally:
            conn.close()

    def _stream(self, resp, headers):
        """Relays a body of unknown length (a kube watch, a large chunked
        list) chunk by chunk as it arrives."""
        self.send_response_only(resp.status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Transfer-Encoding", "chunked")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.flush()
        try:
            while True:
                chunk = resp.read1(65536)
                if not chunk:
                    break
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (OSError, http.client.HTTPException):
            # Upstream broke off mid-body: do the same to the client.
            self._drop()

    def __getattr__(self, name):
        if name.startswith("do_"):
            return self._proxy
        raise AttributeError(name)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        # A client that goes away or fails the TLS handshake is not news;
        # never print tracebacks (they could carry request data).
        if self.cfg.verbose:
            err = sys.exc_info()[1]
            print(f"faultproxy: connection error: {type(err).__name__}: {err}",
                  file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="faultproxy.py",
        description="Fault-injecting HTTP(S) proxy in front of one loopback upstream.")
    p.add_argument("--upstream", required=True,
                   help="http(s)://HOST:PORT[/prefix]; HOST must be a loopback address")
    p.add_argument("--listen", default="127.0.0.1:0",
                   help="loopback HOST:PORT to listen on; port 0 picks a free one (default %(default)s)")
    p.add_argument("--fault-rate", type=float, default=0.2,
                   help="probability of a fault per request, 0..1 (default %(default)s)")
    p.add_argument("--seed", type=int, default=None, help="RNG seed, for reproducible runs")
    p.add_argument("--faults", default=",".join(FAULTS),
                   help="comma-separated subset of %s (default: all)" % ",".join(FAULTS))
    p.add_argument("--max-faults", type=int, default=None,
                   help="inject at most N faults, then forward everything")
    p.add_argument("--delay-ms", type=int, default=300, help="delay of the `delay` fault (default %(default)s)")
    p.add_argument("--retry-after", type=int, default=1,
                   help="Retry-After seconds on kube 429s (default %(default)s)")
    p.add_argument("--flavor", choices=("aws", "kube"), default="aws",
                   help="error body format (default %(default)s)")
    p.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    p.add_argument("--tls-key", help="private key for --tls-cert (PEM)")
    p.add_argument("--upstream-ca", help="CA bundle to verify an https upstream with")
    p.add_argument("--port-file", help="write HOST:PORT here once listening")
    p.add_argument("--stats-file", help="JSON counters, rewritten on every request")
    p.add_argument("--verbose", action="store_true",
                   help="one line per request on stderr (method, path, fault)")
    args = p.parse_args(argv)

    if not 0.0 <= args.fault_rate <= 1.0:
        die("--fault-rate must be between 0 and 1")
    faults = [f.strip() for f in args.faults.split(",") if f.strip()]
    unknown = [f for f in faults if f not in FAULTS]
    if unknown or not faults:
        die(f"--faults: unknown or empty: {','.join(unknown) or args.faults!r}; "
            f"choose from {','.join(FAULTS)}")
    args.fault_list = faults
    if args.max_faults is not None and args.max_faults < 0:
        die("--max-faults must be >= 0")
    if args.delay_ms < 0:
        die("--delay-ms must be >= 0")
    if bool(args.tls_cert) != bool(args.tls_key):
        die("--tls-cert and --tls-key go together")

    up = urllib.parse.urlsplit(args.upstream)
    if up.scheme not in ("http", "https") or not up.hostname:
        die(f"--upstream must be an http:// or https:// URL, not {args.upstream!r}")
    if up.username or up.password or up.query or up.fragment:
        die("--upstream must not carry credentials, a query or a fragment")
    if not is_loopback_host(up.hostname):
        die(f"--upstream host {up.hostname!r} is not a loopback address; "
            "faultproxy only connects to 127.0.0.0/8, ::1 or localhost")
    args.up_host = up.hostname
    args.up_port = up.port or (443 if up.scheme == "https" else 80)
    args.up_prefix = up.path.rstrip("/")
    if up.scheme == "https":
        args.upstream_tls = ssl.create_default_context(cafile=args.upstream_ca)
    else:
        if args.upstream_ca:
            die("--upstream-ca needs an https:// upstream")
        args.upstream_tls = None

    host, sep, port = args.listen.rpartition(":")
    host = host.strip("[]")
    if not sep or not port.isdigit():
        die(f"--listen must be HOST:PORT, not {args.listen!r}")
    if not is_loopback_host(host):
        die(f"--listen host {host!r} is not a loopback address")
    args.listen_addr = (host, int(port))

    args.server_tls = None
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        # HTTP/1.1 only; clients that offer h2 fall back.
        ctx.set_alpn_protocols(["http/1.1"])
        args.server_tls = ctx
    return args


def main(argv=None):
    cfg = parse_args(sys.argv[1:] if argv is None else argv)
    Server.address_family = socket.AF_INET6 if ":" in cfg.listen_addr[0] else socket.AF_INET
    try:
        server = Server(cfg.listen_addr, Handler)
    except OSError as e:
        die(f"cannot listen on {cfg.listen}: {e}")
    server.cfg = cfg
    server.stats = Stats(cfg.stats_file)
    server.picker = FaultPicker(cfg.fault_rate, cfg.fault_list, cfg.seed, cfg.max_faults)

    host, port = server.server_address[:2]
    hostport = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              daemon=True)
    thread.start()
    if cfg.port_file:
        write_atomic(cfg.port_file, hostport)
    scheme = "https" if cfg.server_tls else "http"
    print(f"faultproxy: listening on {scheme}://{hostport} -> {cfg.upstream} "
          f"(flavor {cfg.flavor}, fault rate {cfg.fault_rate}, faults {','.join(cfg.fault_list)})",
          file=sys.stderr, flush=True)
    while not stop.wait(0.2):
        pass
    server.shutdown()
    server.server_close()
    print("faultproxy: stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
