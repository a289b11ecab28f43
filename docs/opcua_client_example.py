"""Print the inspector's results as they come: python opcua_client_example.py opc.tcp://127.0.0.1:4840 [N]"""
import asyncio, sys
from asyncua import Client

async def main(url, n):
    done, seen = asyncio.Event(), []
    class Print:
        def event_notification(self, ev):
            print(ev.ResultId, ev.CavityId, ev.Class, "OK" if ev.Ok else "REJECT", f"{ev.Probability:.3f}", flush=True)
            seen.append(ev)
            if len(seen) == n:
                done.set()
    async with Client(url) as client:
        ns = await client.get_namespace_index("urn:inspector:machine-vision")
        inspector = await client.nodes.objects.get_child(f"{ns}:Inspector")
        event_type = await client.nodes.base_event_type.get_child(f"{ns}:ResultReadyEventType")
        await (await client.create_subscription(100, Print())).subscribe_events(inspector, event_type)
        await done.wait()  # N results, or until Ctrl-C

asyncio.run(main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0))
