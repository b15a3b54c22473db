"""Benchmark target, like holder.ts but not a Node.js process (so the node probe stands aside).

    python3 bench/holder.py N DIR

Holds about N fds: half loopback TCP sockets (both ends of each connection, ESTABLISHED),
half regular files. Prints "ready", then leaves, removing DIR, when stdin closes, on SIGTERM or
SIGINT, or after MAX_LIFETIME seconds at the latest.
"""
import os
import shutil
import signal
import socket
import struct
import sys
import threading

MAX_LIFETIME = 15 * 60
FILE_NAMES = 12

total, directory = int(sys.argv[1]), sys.argv[2]
connections = total // 4  # two fds each
files = total - 2 * connections
clients = []


def leave(code):
    # reset instead of close: no TIME_WAIT rows left behind to skew the next measurement
    linger = struct.pack('ii', 1, 0)
    for s in clients:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        s.close()
    shutil.rmtree(directory, ignore_errors=True)  # our files (the benchmark removes it too, unless it was killed)
    os._exit(code)


signal.signal(signal.SIGTERM, lambda *_: leave(0))
signal.signal(signal.SIGINT, lambda *_: leave(130))
timer = threading.Timer(MAX_LIFETIME, lambda: leave(0))
timer.daemon = True
timer.start()

paths = []
for i in range(FILE_NAMES):
    p = os.path.join(directory, 'app-2024-01-%02d.log' % (i + 1))
    with open(p, 'w') as f:
        f.write('x' * 1024)
    paths.append(p)
held = [open(paths[i % len(paths)], 'rb') for i in range(files)]

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.bind(('127.0.0.1', 0))
server.listen(1024)
port = server.getsockname()[1]
accepted = []
for _ in range(connections):
    c = socket.create_connection(('127.0.0.1', port))
    clients.append(c)
    accepted.append(server.accept()[0])

sys.stdout.write('ready\n')
sys.stdout.flush()
sys.stdin.read()  # until the benchmark closes our stdin
leave(0)
