"""The line server's address space, as issue 18 names it (other tools rely on these names).

Namespace `urn:inspector:machine-vision`; under Objects an object `Inspector` with `State` and
`StateReason` (after the system state machine of OPC 40100, OPC UA for Machine Vision), `ResultCount`,
`LastResult` (the fields of `result_fields.FIELDS`), one `Cavity<N>` per cavity seen (`Reject`,
`NokInARow`), the methods `Start`, `Stop`, `AcknowledgeNok`, and the event type `ResultReadyEventType`
carrying the same fields as `LastResult`, emitted by `Inspector` once per result.
"""

from __future__ import annotations

from asyncua import Server, ua

from inspector.opcua.result_fields import FIELDS

NAMESPACE = "urn:inspector:machine-vision"
STATES = ("Stopped", "Running", "WaitingForTrigger", "SourceLost", "Error")


class AddressSpace:
    """The nodes the server writes; created by `build`, used only on the server's event loop."""

    def __init__(self, server: Server, idx: int, inspector, state, reason, count, last: dict, event_type):
        self.server, self.idx, self.inspector = server, idx, inspector
        self.state, self.reason, self.count, self.last = state, reason, count, last
        self.event_type = event_type
        self.cavities: dict[int, tuple] = {}  # cavity id → (Reject node, NokInARow node)
        self.nok_in_row: dict[int, int] = {}
        self.generator = None

    async def cavity(self, cavity_id: int) -> tuple:
        if cavity_id not in self.cavities:
            obj = await self.inspector.add_object(self.idx, f"Cavity{cavity_id}")
            reject = await obj.add_variable(self.idx, "Reject", False, varianttype=ua.VariantType.Boolean)
            nok = await obj.add_variable(self.idx, "NokInARow", 0, varianttype=ua.VariantType.UInt32)
            self.cavities[cavity_id] = (reject, nok)
            self.nok_in_row[cavity_id] = 0
        return self.cavities[cavity_id]

    async def publish(self, fields: dict, count: int) -> None:
        """LastResult, the cavity, ResultCount, then the event: a client that reads on the event
        finds the variables already holding this result."""
        for name, value in fields.items():
            await self.last[name].write_value(ua.Variant(value, getattr(ua.VariantType, FIELDS[name])))
        reject, nok = await self.cavity(fields["CavityId"])
        cid = fields["CavityId"]
        self.nok_in_row[cid] = 0 if fields["Ok"] else self.nok_in_row[cid] + 1
        await reject.write_value(not fields["Ok"], ua.VariantType.Boolean)
        await nok.write_value(self.nok_in_row[cid], ua.VariantType.UInt32)
        await self.count.write_value(count, ua.VariantType.UInt64)
        ev = self.generator.event
        for name, value in fields.items():
            setattr(ev, name, value)
        ev.Severity = 100 if fields["Ok"] else 500
        await self.generator.trigger(message=f"{fields['ResultId']} cavity {cid}: {fields['Class']}")

    async def acknowledge(self, cavity_id: int) -> bool:
        """NokInARow back to 0 for one cavity (0: all); False for a cavity never seen."""
        ids = list(self.cavities) if cavity_id == 0 else [cavity_id]
        if any(c not in self.cavities for c in ids):
            return False
        for c in ids:
            self.nok_in_row[c] = 0
            await self.cavities[c][1].write_value(0, ua.VariantType.UInt32)
        return True

    async def set_state(self, state: str, reason: str) -> None:
        await self.state.write_value(state, ua.VariantType.String)
        await self.reason.write_value(reason, ua.VariantType.String)


async def build(server: Server) -> AddressSpace:
    idx = await server.register_namespace(NAMESPACE)
    inspector = await server.nodes.objects.add_object(idx, "Inspector")
    state = await inspector.add_variable(idx, "State", "Stopped", varianttype=ua.VariantType.String)
    reason = await inspector.add_variable(idx, "StateReason", "not started", varianttype=ua.VariantType.String)
    count = await inspector.add_variable(idx, "ResultCount", 0, varianttype=ua.VariantType.UInt64)
    last_obj = await inspector.add_object(idx, "LastResult")
    last = {}
    for name, kind in FIELDS.items():
        vt = getattr(ua.VariantType, kind)
        last[name] = await last_obj.add_variable(idx, name, ua.get_default_value(vt), varianttype=vt)
    event_type = await server.create_custom_event_type(
        idx, "ResultReadyEventType", ua.ObjectIds.BaseEventType,
        [(name, getattr(ua.VariantType, kind)) for name, kind in FIELDS.items()],
    )
    # The event is emitted by Inspector, which must say so for a client subscribed there to get it.
    await inspector.write_attribute(ua.AttributeIds.EventNotifier, ua.DataValue(ua.Variant(1, ua.VariantType.Byte)))
    space = AddressSpace(server, idx, inspector, state, reason, count, last, event_type)
    space.generator = await server.get_event_generator(event_type, inspector)
    return space
