"""Raw sockets for the server suite: clients that misbehave on purpose."""
import os
import socket
import time

from testkit import hang_guard, sha256, wait_until  # noqa: F401  (re-exported for the suites)


def connect(port, source="127.0.0.1", timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0))
    return s


def read_response(s):
    """Reads one response (headers + Content-Length body); returns (status, headers, body)
    or None when the server closed first."""
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            return None
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        body += chunk
    return status, headers, body


def read_responses(s, n):
    """Reads n pipelined responses (Content-Length framed) that may arrive in one segment;
    returns their statuses, with None for each that never came."""
    data = b""
    statuses = []
    while len(statuses) < n:
        head_end = data.find(b"\r\n\r\n")
        if head_end >= 0:
            head = data[:head_end].decode("latin-1").split("\r\n")
            length = 0
            for line in head[1:]:
                k, _, v = line.partition(":")
                if k.strip().lower() == "content-length":
                    length = int(v.strip())
            if len(data) >= head_end + 4 + length:
                statuses.append(int(head[0].split()[1]))
                data = data[head_end + 4 + length:]
                continue
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            chunk = b""
        if not chunk:
            return statuses + [None] * (n - len(statuses))
        data += chunk
    return statuses


def get(port, path="/v2/", source="127.0.0.1", keep=False):
    s = connect(port, source)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    r = read_response(s)
    if keep:
        return s, r
    s.close()
    return r


def wait_closed(s, within):
    """True once the server has closed s (EOF or reset), reading and discarding what comes."""
    s.settimeout(0.5)
    deadline = time.time() + within
    while time.time() < deadline:
        try:
            if s.recv(65536) == b"":
                return True
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
