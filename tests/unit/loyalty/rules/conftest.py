"""Loyalty unit tests: pure functions, no database, no network, no clock.

``loyalty_support`` sits next to the tests; with ``--import-mode=importlib`` the
folder is not on ``sys.path`` by itself.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
