"""gunicorn settings for `web` (Procfile). The app is preloaded so a bad configuration
stops the master once with one line, instead of workers crash-looping."""
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
preload_app = True
timeout = 30
graceful_timeout = 20
keepalive = 5
forwarded_allow_ips = "*"
accesslog = "-" if os.environ.get("ACCESS_LOG", "1") == "1" else None
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
