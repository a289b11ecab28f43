"""The line server: every verdict published over OPC UA (asyncua), optional.

`endpoint` (the address and its checks) and `result_fields` (a record as the address space
carries it) need nothing beyond the standard library, so the command line can refuse a bad
address without the extra installed; `address_space` and `server` import asyncua
(`pip install -e '.[opcua]'`) and are only imported when a run asks for `--opcua`.
"""
