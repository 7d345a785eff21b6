"""gunicorn settings for `crisiswiki serve` (and `make run`, the benchmarks and the tests through
the top-level gunicorn.conf.py, which reads this module): installed with the package.

Override with CRISISWIKI_BIND and CRISISWIKI_WORKERS, or gunicorn's own GUNICORN_CMD_ARGS.
"""

import multiprocessing
import os

bind = os.environ.get("CRISISWIKI_BIND", "127.0.0.1:5000")
# Several processes: one slow request (a big upload, an export) never holds up the others.
workers = int(os.environ.get("CRISISWIKI_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("CRISISWIKI_THREADS", 4))
# Connections a worker holds at once (half of them may idle in keep-alive; past that, answers
# close the connection). gunicorn's default of 1,000 lets the first worker to wake take every
# connection of a burst while the others idle: with 16 clients sending reports, intake doubled
# (bench/run.py) once connections were spread over the workers.
worker_connections = int(os.environ.get("CRISISWIKI_WORKER_CONNECTIONS", threads * 2))
timeout = 120
graceful_timeout = 30
keepalive = 5
# Requests one keep-alive connection may carry before it is closed (nginx's `keepalive_requests`).
# Past worker_connections × workers, a client's connection waits in the listen backlog until a
# held one closes; clients that send without pause never let theirs close, and in a surge of 32
# such clients on 3 workers the last four waited more than the 120 s a client gives an answer.
# Closing after a few dozen requests lets waiting connections in within a second or two; a new
# connection on the same host costs a fraction of a millisecond.
keepalive_requests = int(os.environ.get("CRISISWIKI_KEEPALIVE_REQUESTS", 25))


def pre_request(worker, req):
    """Close the connection after its `keepalive_requests`-th request (gunicorn has no setting)."""
    if keepalive_requests and req.req_number % keepalive_requests == 0:
        req.must_close = True


# Field reports arrive over slow mobile links; gthread keeps their sockets off the main loop.
# A worker is replaced after this many requests (a guard against slow leaks). Not sooner: a new
# worker spends about a second of CPU importing and building the app, and at 10,000 a worker
# serving cached pages was replaced every 15 s, a third of the CPU of a page-view benchmark.
max_requests = int(os.environ.get("CRISISWIKI_MAX_REQUESTS", 1_000_000))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("CRISISWIKI_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("CRISISWIKI_LOG_LEVEL", "info")
wsgi_app = "wiki:create_app()"
