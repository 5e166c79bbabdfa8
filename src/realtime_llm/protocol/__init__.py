"""The sans-I/O protocol core: no sockets, no event loop, no clock, no pipecat.

:class:`RealtimeSession` takes parsed server events (:mod:`.events`) and commands, and
returns :mod:`.outputs`: client events to send and things that happened.
"""

from realtime_llm.protocol.capabilities import Capabilities
from realtime_llm.protocol.events import ServerEvent, parse_server_event
from realtime_llm.protocol.playback import PlaybackTracker, TruncationPoint
from realtime_llm.protocol.session import RealtimeSession

__all__ = [
    "Capabilities",
    "PlaybackTracker",
    "RealtimeSession",
    "ServerEvent",
    "TruncationPoint",
    "parse_server_event",
]
