"""Pure loyalty domain: points, tiers, rewards, referrals, expiry.

Nothing here imports Flask, RQ, SQLAlchemy or an HTTP client, reads the clock
or touches the network: functions take values (including ``now``) and return
decisions, so webhook handlers and jobs stay thin and the rules stay testable.
Import the submodules directly (``from plugin.loyalty.rules.earning import ...``);
this package file deliberately imports nothing.
"""
