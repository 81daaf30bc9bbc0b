"""The resource types the hub stores, as their Swift cases (Sources/HubFHIR/ResourceType.swift):
the one list every generator in ops/gen reads, so that adding a type is one line here and its case
there."""

TYPES = {
    "Patient": "patient", "Practitioner": "practitioner", "PractitionerRole": "practitionerRole",
    "Organization": "organization", "Encounter": "encounter", "Condition": "condition",
    "Procedure": "procedure", "AllergyIntolerance": "allergyIntolerance",
    "MedicationRequest": "medicationRequest", "Observation": "observation",
    "DiagnosticReport": "diagnosticReport", "DocumentReference": "documentReference",
    "Composition": "composition", "Appointment": "appointment", "Schedule": "schedule",
    "Slot": "slot", "ServiceRequest": "serviceRequest", "Task": "task", "Consent": "consent",
    "Provenance": "provenance", "Subscription": "subscription", "Group": "group",
}
