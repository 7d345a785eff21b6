"""gunicorn settings for `make run` (and the benchmarks, which serve the app the same way).

Override with CRISISWIKI_BIND and CRISISWIKI_WORKERS, or gunicorn's own GUNICORN_CMD_ARGS.
"""
import multiprocessing
import os

bind = os.environ.get("CRISISWIKI_BIND", "127.0.0.1:5000")
# Several processes: one slow request (a big upload, an export) never holds up the others.
workers = int(os.environ.get("CRISISWIKI_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("CRISISWIKI_THREADS", 4))
timeout = 120
graceful_timeout = 30
keepalive = 5
# Field reports arrive over slow mobile links; gthread keeps their sockets off the main loop.
max_requests = 10000
max_requests_jitter = 1000
accesslog = os.environ.get("CRISISWIKI_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("CRISISWIKI_LOG_LEVEL", "info")
wsgi_app = "wiki:create_app()"
