"""Live supervision, console side: the command channel to the worker holding a call, tokens for
the browser, the live board's data. The worker's side is `agent.supervision`."""

from supervision.board import (
    FeedItem,
    LiveCall,
    board_updates,
    live_calls,
    mark_absent,
    mark_present,
    supervisors_present,
    transcript_feed,
)
from supervision.commands import CommandRefusedError, SupervisionClient
from supervision.protocol import Action, CommandReply
from supervision.roles import can_place_test_call, can_supervise
from supervision.tokens import (
    LiveKitSettings,
    RoomToken,
    TestCall,
    TokenRefusedError,
    is_test_call,
    mint_listen_token,
    mint_takeover_token,
    start_test_call,
)

__all__ = [
    "Action", "CommandRefusedError", "CommandReply", "FeedItem", "LiveCall", "LiveKitSettings",
    "RoomToken", "SupervisionClient", "TestCall", "TokenRefusedError", "board_updates",
    "can_place_test_call", "can_supervise", "is_test_call", "live_calls", "mark_absent",
    "mark_present", "mint_listen_token", "mint_takeover_token", "start_test_call",
    "supervisors_present", "transcript_feed",
]
