"""What a car sends, built cheaply: records as JSON text (RecordMaker), a resend flagged in
place, an HTTP batch spliced into the profile's body, and a car's identity without Faker
equal to its owner's."""

from __future__ import annotations

import json

import pytest

from fleetchaos.fleet_sim.car_link import HttpBatchTransport
from fleetchaos.fleet_sim.identities import car_identity, identity
from fleetchaos.fleet_sim.profiles import Profile, parse_profile
from fleetchaos.fleet_sim.telemetry import RecordMaker, as_resent, field_names


@pytest.mark.parametrize("nfields", [0, 1, 2, 20, 100])
def test_records_are_the_json_a_backend_parses(nfields):
    maker = RecordMaker(seed=3)
    texts = [maker.record(seq, 1_796_442_423.25, nfields, (37.5, -122.25)) for seq in (1, 2)]
    first, second = (json.loads(t) for t in texts)
    assert first["type"] == "telemetry" and first["seq"] == 1 and first["ts"] == 1_796_442_423.25
    assert first["is_resend"] is False
    assert list(first["fields"]) == field_names(nfields)
    if nfields >= 2:
        assert abs(first["fields"]["lat"] - 37.5) <= 0.01
        assert abs(first["fields"]["lon"] + 122.25) <= 0.01
        assert first["fields"] != second["fields"]  # a car's records differ
    resent = json.loads(as_resent(texts[0]))
    assert resent["is_resend"] is True and {**resent, "is_resend": False} == first


def test_a_20_field_record_is_about_400_bytes():
    text = RecordMaker().record(123456, 1_796_442_423.123, 20, (37.1, -122.2))
    assert 350 <= len(text) <= 450  # telemetry.py's sizing: ~400 B of JSON for 20 fields


def profile(json_body: object) -> Profile:
    return parse_profile({"actions": {"unlock": {"method": "POST", "path": "/u"}},
                          "telemetry": {"transport": "http", "path": "/t/{vin}",
                                        "json": json_body}}, "test.yaml")


@pytest.mark.parametrize("body", [{"records": "{records}"},
                                  {"vehicle": "{vin}", "data": {"batch": "{records}"}},
                                  "{records}"])
def test_an_http_batch_is_spliced_into_the_profiles_body(body):
    link = HttpBatchTransport(None, profile(body), {"vin": "V1", "car_token": "t"})
    records = [(1, '{"seq":1,"a":"x"}'), (2, '{"seq":2,"b":[1,2]}')]
    sent = json.loads(link._body(records))
    batch = [{"seq": 1, "a": "x"}, {"seq": 2, "b": [1, 2]}]
    expected = json.loads(json.dumps(body).replace('"{records}"', json.dumps(batch))
                          .replace("{vin}", "V1"))
    assert sent == expected


def test_a_cars_identity_is_its_owners_without_faker():
    for index in (0, 7, 123_456):
        car, owner = car_identity(2021, index), identity(2021, index, {})
        assert (car.vin, car.car_token, car.home) == (owner.vin, owner.car_token, owner.home)
    assert car_identity(2021, 1).vin != car_identity(2021, 2).vin
