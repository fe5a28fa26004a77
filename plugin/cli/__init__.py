"""``flask --app plugin embajador …``: the operator's commands (CONTRACT.md, Command line).

Errors are one line on stderr and a non-zero exit (click.ClickException), never a traceback.
"""
from __future__ import annotations

import importlib

from flask.cli import AppGroup

embajador = AppGroup("embajador", help="Embajador loyalty app commands.")

# Each area adds its commands in its own module; listing it here registers them.
COMMAND_MODULES = ("plugin.cli.core", "plugin.cli.inbox", "plugin.cli.demo", "plugin.cli.referrals", "plugin.cli.loyalty",
                   "plugin.cli.checkouts", "plugin.cli.emails", "plugin.cli.doctor", "plugin.cli.webhooks",
                   "plugin.cli.loyalty_import")
for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(embajador)
