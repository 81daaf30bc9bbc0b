#!/usr/bin/env python3
"""A session of SMART on FHIR's Python client (fhirclient 4.3.1, FHIR R4 models) against the
hub, as a hospital's integration code would run it: read the CapabilityStatement, create a
Patient and a lab Observation, read, update, search (by identifier, by patient + code, paging
through `next` links), and delete. fhirclient parses every answer into its R4 models, which
refuse unknown elements and wrong types; any step that fails stops the session.

Usage: fhirclient_session.py BASE_URL CA_PEM CERT_PEM KEY_PEM PATIENT_JSON
Prints one line per step and exits 0 when every step passed.
"""
import json
import sys
import warnings

from fhirclient import server as fhirserver
from fhirclient.models.observation import Observation
from fhirclient.models.patient import Patient

warnings.simplefilter("ignore", DeprecationWarning)


def main():
    base, ca, cert, key, patient_json = sys.argv[1:6]
    server = fhirserver.FHIRServer(None, base_uri=base)
    server.session.trust_env = False  # requests would let REQUESTS_CA_BUNDLE override `verify`
    server.session.verify = ca
    server.session.cert = (cert, key)

    capability = server.capabilityStatement
    types = {resource.type for resource in capability.rest[0].resource}
    assert {"Patient", "Observation", "Appointment", "Task"} <= types, types
    print("capability statement:", len(types), "types")

    patient = Patient(json.loads(patient_json))
    created = Patient(patient.create(server))
    assert created.id and created.meta.versionId == "1", created.as_json()
    print("created Patient", created.meta.versionId)

    read = Patient.read(created.id, server)
    assert read.identifier[0].value == patient.identifier[0].value
    read.active = True
    updated = Patient(read.update(server))
    assert updated.meta.versionId == "2" and updated.active
    print("updated Patient to version", updated.meta.versionId)

    identifier = patient.identifier[0]
    found = Patient.where(struct={"identifier": f"{identifier.system}|{identifier.value}"}).perform_resources(server)
    assert [p.id for p in found] == [created.id], [p.id for p in found]
    print("found by identifier")

    observations = []
    for day in range(1, 6):
        observation = Observation({
            "resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "2345-7", "display": "葡萄糖"}]},
            "subject": {"reference": f"Patient/{created.id}"},
            "effectiveDateTime": f"2026-11-0{day}T08:00:00+08:00",
            "valueQuantity": {"value": 5.0 + day / 10, "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"},
        })
        observations.append(Observation(observation.create(server)).id)
    # Paged two at a time: fhirclient follows the Bundle's `next` links.
    pages = list(Observation.where(struct={"patient": created.id, "code": "http://loinc.org|2345-7", "_count": "2"}).perform_iter(server))
    seen = [entry.resource.id for page in pages for entry in (page.entry or [])]
    assert len(pages) == 3 and sorted(seen) == sorted(observations), (len(pages), seen)
    print("searched Observations over", len(pages), "pages")

    Observation.read(observations[0], server).delete(server)
    remaining = Observation.where(struct={"patient": created.id}).perform_resources(server)
    assert len(remaining) == 4, len(remaining)
    print("deleted one Observation")


main()
