#!/usr/bin/env python3
"""A throwaway loopback Internet for packaging/check-deb.sh: a DNS server that answers every A
question with 127.0.0.1 (and every other type with an empty NOERROR), and an HTTP server that
answers every request with 404, as a web server does for a random ACME token. Both bind to
127.0.0.1 on ports the kernel picks; the ports are written as "DNS_PORT HTTP_PORT" to the file
named by the first argument. Runs until killed. Standard library only."""

import http.server
import socket
import struct
import sys
import threading


def dns_answer(query: bytes) -> bytes:
    ident, _flags, qd = struct.unpack("!HHH", query[:6])
    if qd != 1:
        return b""
    end = 12
    while query[end] != 0:
        end += query[end] + 1
    question = query[12 : end + 5]
    qtype = struct.unpack("!H", query[end + 1 : end + 3])[0]
    answers = b""
    count = 0
    if qtype == 1:
        answers = struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton("127.0.0.1")
        count = 1
    header = struct.pack("!HHHHHH", ident, 0x8580, 1, count, 0, 0)
    return header + question + answers


def serve_dns(sock: socket.socket) -> None:
    while True:
        data, peer = sock.recvfrom(4096)
        try:
            reply = dns_answer(data)
        except (IndexError, struct.error):
            continue
        if reply:
            sock.sendto(reply, peer)


class NotFound(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        body = b"not found\n"
        self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def main() -> None:
    dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dns.bind(("127.0.0.1", 0))
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(f"{dns.getsockname()[1]} {web.server_address[1]}\n")
    import os

    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    threading.Thread(target=serve_dns, args=(dns,), daemon=True).start()
    web.serve_forever()


if __name__ == "__main__":
    main()
