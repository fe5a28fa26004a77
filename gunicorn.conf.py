"""gunicorn settings for `web` (Procfile). The app is preloaded so a bad configuration
stops the master once with one line, instead of workers crash-looping."""
import gc
import os

from plugin.config import mode_of

bind = f"0.0.0.0:{os.environ.get('PORT', '5000')}"
# gthread workers: WEB_CONCURRENCY processes (the Heroku Python buildpack sets it from the dyno
# size) x WEB_THREADS threads. Threads overlap a request's waits on Postgres/Redis (a webhook
# waits for its commit); processes are what use more cores. Webhooks share one connection per
# process (group commit, webhooks/group_commit.py): the more threads, the more deliveries
# share one INSERT and one Redis round trip; 2 x 8 measured the most deliveries per second
# on 2 cores (4 threads, 3 or 4 processes: smaller groups, more CPU per delivery). The other
# routes use the pool, which keeps WEB_THREADS connections per process (plugin/db.py). A bad
# WEB_THREADS is reported in one line by the app's configuration check (plugin/config.py)
# when the preloaded app starts. Measured: bench/RESULTS.md, README "Deploying".
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
_threads = os.environ.get("WEB_THREADS", "").strip()
threads = int(_threads) if _threads.isascii() and _threads.isdigit() and int(_threads) > 0 else 8
preload_app = True
# In production, one listening socket per worker (SO_REUSEPORT), so the kernel spreads
# connections evenly. With the one socket gunicorn otherwise shares, whichever worker wakes first
# accepts, and kept-alive connections stay where they landed: on this 2-core machine one worker
# now and then held nearly all of the bench's 16 connections, and webhooks fell to what one
# process can do (about 1,040 per second against 2,000; bench/RESULTS.md). The pinned gunicorn
# binds each worker's socket after the fork (Arbiter.spawn_worker), since
# https://github.com/benoitc/gunicorn/pull/2938. Production only, as Heroku's own template does
# (https://github.com/heroku/python-getting-started/pull/248): in development a second server
# left running on the port would serve beside the new one instead of failing "Address already in
# use". What it costs, and why REUSE_PORT=0 turns it off (README "Deploying"): the master holds no
# socket, so a USR2 binary upgrade and systemd socket activation do not work with it; a port held
# by another program shows as workers logging "Connection in use" and restarting; connections
# queued on a worker's own socket when that worker exits or hangs until the 30 s timeout are
# reset, not taken by another (Linux's net.ipv4.tcp_migrate_req is off by default).
reuse_port = (workers > 1 and mode_of(os.environ) == "production"
              and os.environ.get("REUSE_PORT", "1").strip() != "0")
timeout = 30
graceful_timeout = 20
keepalive = 5
# Whose X-Forwarded-Proto gunicorn believes: on Heroku the router's address is not fixed
# ("*", as Heroku documents); elsewhere only a proxy on this machine. The client address
# itself is taken by the app from TRUSTED_PROXIES (plugin/security/proxies.py).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS") or ("*" if os.environ.get("DYNO") else "127.0.0.1,::1")
accesslog = "-" if os.environ.get("ACCESS_LOG", "1") == "1" else None
# Method, path WITHOUT the query string (%(U)s), protocol: queries carry OAuth codes, HMACs,
# App Proxy signatures, customer ids and email-link tokens, none of which belongs in logs.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'


def pre_fork(server, worker):
    """Freeze what the preloaded app built (routes, mappers, compiled statements) before
    each fork: the workers' garbage collector then never walks those objects, so its full
    collections are short (the tail of request latency) and do not copy inherited pages.
    CPython's gc.freeze() documentation recommends it before a POSIX fork()."""
    gc.freeze()
