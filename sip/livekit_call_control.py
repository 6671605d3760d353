"""`SipCallControl` on LiveKit: dialing through livekit-sip, REFER, MoveParticipant."""

from __future__ import annotations

from livekit import api, rtc

from sip.call_control import Answered, MoveFailedError, TransferRequest
from sip.dialing import dial, find_outbound_trunk
from sip.transfer import cold_transfer


class LiveKitSipCallControl:
    def __init__(self, lk: api.LiveKitAPI, *, trunk_id: str = "",
                 resource_name: str = "intake") -> None:
        self._lk = lk
        self._trunk_id = trunk_id
        self._resource_name = resource_name

    async def outbound_trunk(self) -> str:
        # looked up each time: a cached id goes stale when the trunk is re-provisioned
        return await find_outbound_trunk(self._lk, trunk_id=self._trunk_id,
                                         resource_name=self._resource_name)

    async def dial(self, *, room: str, number: str, trunk_id: str, identity: str,
                   ring_timeout_s: float, name: str = "",
                   attributes: dict[str, str] | None = None) -> Answered:
        return await dial(self._lk, room=room, number=number, trunk_id=trunk_id,
                          identity=identity, ring_timeout_s=ring_timeout_s, name=name,
                          attributes=attributes)

    async def cold_transfer(self, room: rtc.Room, request: TransferRequest) -> bool:
        return await cold_transfer(room, self._lk, request)

    async def move_participant(self, *, room: str, identity: str, destination: str) -> None:
        try:
            await self._lk.room.move_participant(api.MoveParticipantRequest(
                room=room, identity=identity, destination_room=destination))
        except api.TwirpError as exc:
            raise MoveFailedError(exc.code) from None
