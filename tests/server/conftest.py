"""Fixtures for the HTTP server suite: every test starts its own `arca serve` with the small
limits it is about (timeouts of a few seconds, a handful of connections)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
