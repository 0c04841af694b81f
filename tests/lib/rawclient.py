"""Raw sockets for the server suite: clients that misbehave on purpose."""
import os
import socket
import time

from testkit import hang_guard, sha256, wait_until  # noqa: F401  (re-exported for the suites)


def connect(port, source="127.0.0.1", timeout=None):
    timeout = hang_guard(10) if timeout is None else timeout
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


def server_unread(client_sock, server_port):
    """Bytes sent on client_sock that the server has not read yet: the receive queue of the
    server's end of the connection, from /proc/net/tcp (and tcp6). None when the kernel lists
    no such socket."""
    cport = client_sock.getsockname()[1]
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, remote, queues = fields[1], fields[2], fields[4]
            if (int(local.rsplit(":", 1)[1], 16) == server_port
                    and int(remote.rsplit(":", 1)[1], 16) == cport):
                return int(queues.split(":")[1], 16)
    return None


def wait_server_read(client_sock, server_port, timeout=10):
    """Waits until the server has read everything sent on client_sock so far (it has the
    request in hand): a poll for what a fixed sleep used to assume."""
    wait_until(lambda: server_unread(client_sock, server_port) == 0, timeout, interval=0.01,
               what="the server to read what was sent")


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
