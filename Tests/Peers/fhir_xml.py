#!/usr/bin/env python3
"""FHIR XML with an independent implementation (fhir.resources 6.4 and lxml, FHIR 4.0.1).

    fhir_xml.py write DIR    for each DIR/N.json, writes DIR/N.peer.xml: the resource as
                             fhir.resources writes it in XML
    fhir_xml.py compare DIR  for each DIR/N.json, reads DIR/N.hub.xml (the hub's XML) with
                             fhir.resources, and DIR/N.hub-read.json (the hub's reading of
                             N.peer.xml); each must be the same resource as N.json. Prints one
                             line per difference and exits 1 if there is any.
    fhir_xml.py validate FILE...
                             each FILE must parse as the R4 resource its root element names;
                             prints one line per file that does not and exits 1 if any.

Resources are compared as fhir.resources models them, so that equal values written differently
(5.60 and 5.6 in a dict of Decimals aside) compare equal; a narrative's XHTML is compared in its
canonical form with whitespace between tags ignored (writers indent it as they like).
Known defect of the peer: it drops the `id` of a primitive's `_name` object when writing XML,
so the documents given to `write` carry none.
"""
import json
import os
import sys
import xml.etree.ElementTree as ElementTree

from fhir.resources import construct_fhir_element, get_fhir_model_class


def normalized(value):
    if isinstance(value, dict):
        result = {}
        for key, item in value.items():
            if key == "div" and isinstance(item, str):
                result[key] = ElementTree.canonicalize(xml_data=item, strip_text=True)
            else:
                result[key] = normalized(item)
        return result
    if isinstance(value, list):
        return [normalized(item) for item in value]
    return value


def model_of_json(path):
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    return construct_fhir_element(document["resourceType"], document)


def model_of_xml(path, resource_type):
    with open(path, "rb") as handle:
        data = handle.read()
    return get_fhir_model_class(resource_type).parse_raw(data, content_type="text/xml")


def validate(paths):
    failures = 0
    for path in paths:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
            root = ElementTree.fromstring(data)
            namespace, _, name = root.tag[1:].partition("}")
            if namespace != "http://hl7.org/fhir":
                raise ValueError(f"root element {root.tag} is not in the FHIR namespace")
            get_fhir_model_class(name).parse_raw(data, content_type="text/xml")
        except Exception as error:  # pydantic's ValidationError, lxml's errors alike
            failures += 1
            print(f"{path}: {error}".replace("\n", " | "))
    sys.exit(1 if failures else 0)


def main():
    if sys.argv[1] == "validate":
        validate(sys.argv[2:])
    command, folder = sys.argv[1], sys.argv[2]
    names = sorted(name[: -len(".json")] for name in os.listdir(folder) if name.endswith(".json") and "." not in name[: -len(".json")])
    failures = 0
    for name in names:
        base = os.path.join(folder, name)
        original = model_of_json(base + ".json")
        if command == "write":
            written = original.xml()
            with open(base + ".peer.xml", "wb") as handle:
                handle.write(written if isinstance(written, bytes) else written.encode("utf-8"))
            continue
        expected = normalized(original.dict())
        checks = [("hub.xml", lambda: model_of_xml(base + ".hub.xml", original.resource_type)),
                  ("hub-read.json", lambda: model_of_json(base + ".hub-read.json"))]
        for suffix, load in checks:
            try:
                found = normalized(load().dict())
            except Exception as error:  # pydantic's ValidationError, lxml's errors alike
                failures += 1
                print(f"{name}.{suffix}: unreadable: {error}".replace("\n", " | "))
                continue
            if found != expected:
                failures += 1
                print(f"{name}.{suffix}: differs: expected {json.dumps(expected, default=str, ensure_ascii=False)} "
                      f"found {json.dumps(found, default=str, ensure_ascii=False)}")
    sys.exit(1 if failures else 0)


main()
