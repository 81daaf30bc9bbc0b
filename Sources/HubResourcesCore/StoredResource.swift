public import Foundation
public import HubFHIR

/// One version of a resource as the store keeps it.
public struct StoredResource: Sendable, Equatable {
    public var type: ResourceType
    public var id: String
    public var versionID: Int
    /// When this version was written (millisecond precision, as in `meta.lastUpdated`).
    public var lastUpdated: Date
    public var isDeleted: Bool
    /// The resource, with `id` and `meta.versionId`/`meta.lastUpdated` set; nil for a deletion.
    public var resource: JSONObject?
    /// The patient whose compartment it is in (the Patient's own id for a Patient), if any:
    /// whose data an access to it is, for the audit trail and access rules.
    public var patientID: String? = nil

    public init(type: ResourceType, id: String, versionID: Int, lastUpdated: Date, isDeleted: Bool, resource: JSONObject?, patientID: String? = nil) {
        self.type = type
        self.id = id
        self.versionID = versionID
        self.lastUpdated = lastUpdated
        self.isDeleted = isDeleted
        self.resource = resource
        self.patientID = patientID
    }

    /// `W/"3"`: the weak ETag FHIR uses for versions.
    public var eTag: String { "W/\"\(self.versionID)\"" }

    /// `Type/id/_history/version`.
    public var versionedReference: String { "\(self.type.rawValue)/\(self.id)/_history/\(self.versionID)" }
}

extension Date {
    /// This instant cut to whole milliseconds, the precision FHIR instants and the store share.
    package var wholeMilliseconds: Date {
        Date(timeIntervalSince1970: (self.timeIntervalSince1970 * 1000).rounded(.down) / 1000)
    }

    /// This instant at the nearest millisecond: what was written cut to milliseconds comes back
    /// from PostgreSQL's microseconds within floating-point error of it.
    package var nearestMillisecond: Date {
        Date(timeIntervalSince1970: (self.timeIntervalSince1970 * 1000).rounded() / 1000)
    }

    /// FHIR `instant`: `2026-11-30T16:30:00.123Z`.
    public var fhirInstant: String {
        UTCTime(self).instant
    }
}
