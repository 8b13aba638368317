"""The kit's tests import kit_fixtures (a tiny service built on the kit) from this folder."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
