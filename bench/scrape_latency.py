#!/usr/bin/env python3
"""Scrape latency on one kept-alive connection, the way Prometheus scrapes.

    bench/scrape_latency.py URL [--count N] [--gzip] [--user U --password P] [--cafile CA]

Opens one HTTP/1.1 connection to URL (http:// or https://) and sends COUNT GET requests on it,
one after the other, each as Prometheus sends them: `Accept-Encoding: gzip` (with --gzip), an
`Accept` header for the text format, `Authorization: Basic` with --user. Measures, per request,
the time from sending the request to having read the whole body (Content-Length), and prints the
median, p99 and maximum in milliseconds, the body size and how many times the server closed the
connection (each close costs a reconnect, which is timed too, as Prometheus would pay it).

Exit status 1 when a request did not get 200 or the server never kept the connection alive.
"""
import argparse
import base64
import socket
import ssl
import statistics
import sys
import time
import urllib.parse


def connect(url, cafile):
    port = url.port or (443 if url.scheme == "https" else 80)
    sock = socket.create_connection((url.hostname, port), timeout=10)
    # A client's Nagle does not matter here: every request goes out in one send().
    if url.scheme == "https":
        context = ssl.create_default_context(cafile=cafile)
        context.check_hostname = False  # the throwaway certificates name 127.0.0.1 or localhost
        sock = context.wrap_socket(sock, server_hostname=url.hostname)
    return sock


def read_response(sock, buffered):
    """Reads one response with a Content-Length body; returns (status, headers, body, rest)."""
    data = buffered
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the response head")
        data += chunk
    head, _, data = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower().decode()] = value.strip().decode()
    length = int(headers.get("content-length", "0"))
    while len(data) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside the body")
        data += chunk
    return status, headers, data[:length], data[length:]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--user")
    parser.add_argument("--password", default="")
    parser.add_argument("--cafile")
    args = parser.parse_args()
    url = urllib.parse.urlsplit(args.url)
    path = url.path or "/"
    request = ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: nodehealth-bench\r\n"
               "Accept: application/openmetrics-text;version=1.0.0;q=0.5,"
               "text/plain;version=0.0.4;q=0.4,*/*;q=0.1\r\n" % (path, url.netloc))
    if args.gzip:
        request += "Accept-Encoding: gzip\r\n"
    if args.user is not None:
        token = base64.b64encode(("%s:%s" % (args.user, args.password)).encode()).decode()
        request += "Authorization: Basic %s\r\n" % token
    request = (request + "\r\n").encode()

    sock = None
    rest = b""
    latencies = []
    reconnects = -1
    size = 0
    encoding = ""
    for _ in range(args.count):
        start = time.perf_counter()
        if sock is None:
            sock = connect(url, args.cafile)
            rest = b""
            reconnects += 1
        sock.sendall(request)
        status, headers, body, rest = read_response(sock, rest)
        latencies.append((time.perf_counter() - start) * 1000)
        if status != 200:
            print("HTTP %d: %r" % (status, body[:200]), file=sys.stderr)
            return 1
        size = len(body)
        encoding = headers.get("content-encoding", "identity")
        if headers.get("connection", "").lower() == "close":
            sock.close()
            sock = None
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print("%s %d scrapes on one kept-alive connection (%s, %d bytes): median %.2f ms, "
          "p99 %.2f ms, max %.2f ms; the server closed the connection %d times"
          % (args.url, len(latencies), encoding, size, statistics.median(latencies), p99,
             latencies[-1], reconnects))
    return 1 if reconnects == len(latencies) - 1 and len(latencies) > 1 else 0


if __name__ == "__main__":
    sys.exit(main())
