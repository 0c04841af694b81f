import os
import sys

# tests/lib holds ArcaServer, shared by every black-box suite.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
