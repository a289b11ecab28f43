"""The line server: inspection results over OPC UA (asyncua), optional (`pip install -e '.[opcua]'`)."""
