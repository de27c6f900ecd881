"""The simulated fleet: cars streaming telemetry, owners' phones, drivers who need to get in.

Pure modules (config, vin, identities, retry, telemetry, profiles, mqtt_profile,
registration, probe, runtime) import without Locust; ``locust_users``, ``canary``,
``car_link``, ``mqtt_link``, ``phone_app``, ``knobs``, ``stats`` and ``timing`` (gevent)
are the Locust side of the fleet. The fleet knows nothing of scenarios: the engine
drives it through knobs.
"""
