"""The simulated fleet: cars streaming telemetry, owners' phones, drivers who need to get in.

Pure modules (config, vin, identities, retry, telemetry, profiles, journey) import
without Locust; ``fleet_sim.locust_users`` is the Locust side.
"""
