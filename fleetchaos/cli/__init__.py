"""The ``fleetchaos`` command: starts the parts on loopback, runs Locust, reports the verdict.

This process never imports locust (it monkey-patches gevent) and never hosts the
asyncio servers: everything it runs is a child process it started and will stop.
"""
