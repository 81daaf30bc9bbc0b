"""Sends one request exactly as given over TLS and prints what came back, as JSON.

HTTP client libraries (and curl 7.88, beyond 128 KiB of headers) will not send what the hub
must refuse: a head larger than its parser admits, a request line that is not HTTP. Used by
RequestHeadLimitTests.

    raw_request.py HOST PORT CA_FILE (--header-bytes N | --request-line TEXT) PATH
"""
import json
import socket
import ssl
import sys


def main() -> None:
    host, port, ca, mode, value, path = sys.argv[1:7]
    if mode == "--header-bytes":
        head = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nX-Padding: ".encode() + b"a" * int(value) + b"\r\n\r\n"
    elif mode == "--request-line":
        head = f"{value}\r\nHost: {host}\r\n\r\n".encode()
    else:
        raise SystemExit(f"unknown mode {mode}")
    context = ssl.create_default_context(cafile=ca)
    with socket.create_connection((host, int(port)), timeout=20) as plain:
        with context.wrap_socket(plain, server_hostname=host) as tls:
            try:
                tls.sendall(head)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the hub may answer and close before the whole head is sent
            received = b""
            try:
                while chunk := tls.recv(65536):
                    received += chunk
            except (ssl.SSLError, ConnectionResetError, socket.timeout):
                pass
    header_block, _, body = received.partition(b"\r\n\r\n")
    lines = header_block.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1]) if lines and lines[0].startswith("HTTP/") else 0
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    print(json.dumps({"status": status, "headers": headers, "body": body.decode("utf-8", "replace")}))


if __name__ == "__main__":
    main()
