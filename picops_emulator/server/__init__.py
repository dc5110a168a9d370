"""The emulator's HTTP edge: the aiohttp application, its middlewares and the route table.

The top of the emulator's layers: server -> cos -> (ci, storage) -> errors. Nothing else in
the emulator imports this package except the runner that starts it.
"""
