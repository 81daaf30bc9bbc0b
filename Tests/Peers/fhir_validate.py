#!/usr/bin/env python3
"""Validates FHIR R4 JSON documents with an independent implementation (fhir.resources 6.4,
FHIR 4.0.1): each file named on the command line must parse as the resource its resourceType
names. Prints one line per invalid document and exits 1 if any is invalid.
"""
import json
import sys

from fhir.resources import construct_fhir_element

failures = 0
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    try:
        construct_fhir_element(document["resourceType"], document)
    except Exception as error:  # pydantic's ValidationError and lookup errors alike
        failures += 1
        print(f"{path}: {document.get('resourceType')}: {error}".replace("\n", " | "))
sys.exit(1 if failures else 0)
