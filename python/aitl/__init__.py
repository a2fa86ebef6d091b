"""aitl: Agent-in-the-Loop data flywheel for LLM-based customer support.

The C++ core lives in :mod:`aitl._core`; everything in it is re-exported here.
"""
from ._core import *  # noqa: F401,F403
from ._core import __version__  # noqa: F401
