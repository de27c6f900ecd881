"""The ``fleetchaos`` command: argument parsing and printing over ``fleetchaos.runs``.

The run layer starts the parts on loopback, runs Locust and reads the verdict; this
process never imports locust (it monkey-patches gevent; import-linter checks it) and
never hosts the asyncio servers: everything it runs is a child process, stopped by PID.
"""
