import Foundation
import HubAudit
public import HubConfig
import HubCrypto
public import HubFHIR
public import HubKeys
public import HubStorage
public import Logging
import NIOCore
import PostgresNIO

/// The resource store on PostgreSQL: versions in `resource_versions`, the current one named in
/// `resources` (docs/storage.md).
///
/// Each version's JSON is sealed with the data key of the patient it belongs to (its patient
/// compartment), or with a key of its own for resources outside any (Organization, Practitioner),
/// under the context `Type/id/version`; crypto-erasing a patient makes every version of every
/// resource of theirs unreadable.
public struct PostgresResourceStore: ResourceStore {
    let database: Database
    let ring: DataKeyRing
    let logger: Logger
    let indexer: SearchIndexer
    /// Identifier systems whose values identify one Patient (the resident ID card): a second
    /// Patient with the same value is refused.
    let uniquePatientIdentifierSystems: Set<String>
    /// Conflicts on those identifiers per organization (``transaction(_:access:audit:)``).
    let identifierConflicts: AttemptLimiter?
    /// The hub's own FHIR bases: absolute references on them are stored relative.
    let references: ReferenceCanonicalizer

    /// - Parameters:
    ///   - references: The hub's own bases (`server.public_url` + `/fhir`); without them, an
    ///     absolute reference to a patient is refused as one on another server.
    ///   - identifierConflicts: How many conflicts on unique patient identifiers an organization
    ///     may cause (`access.identifier_conflict_limit`); nil for no limit (the hub's own jobs).
    public init(
        database: Database, ring: DataKeyRing, logger: Logger, uniquePatientIdentifierSystems: Set<String> = [],
        references: ReferenceCanonicalizer = ReferenceCanonicalizer(bases: []), identifierConflicts: AttemptLimiter? = nil
    ) {
        self.database = database
        self.ring = ring
        self.logger = logger
        self.uniquePatientIdentifierSystems = uniquePatientIdentifierSystems
        self.references = references
        self.identifierConflicts = identifierConflicts
        let keyStore = ring.keyStore
        let suite = ring.suite
        self.indexer = SearchIndexer { values, normalization, domain in
            try await keyStore.blindIndexes(values, normalization: normalization, domain: domain, suite: suite)
        }
    }

    /// The encrypted column that `hub keys migrate` re-encrypts.
    public static func encryptedColumn() throws -> EncryptedColumn {
        try EncryptedColumn(table: "resource_versions", keyColumn: "row_key", subjectColumn: "subject", valueColumn: "body") { rowKey, _ in
            Array(rowKey.utf8)
        }
    }

    public func canonical(_ operation: WriteOperation) -> WriteOperation {
        switch operation {
        case .create(let type, let id, let resource): .create(type, id: id, self.references.canonicalize(resource))
        case .update(let type, let id, let resource, let ifMatch): .update(type, id: id, self.references.canonicalize(resource), ifMatch: ifMatch)
        case .delete: operation
        }
    }

    /// A write with its id assigned, its references canonical and its patient known.
    struct ClassifiedWrite: Sendable {
        var operation: WriteOperation
        var patient: String?
        /// Whose data key seals it (nil for a delete, which seals nothing).
        var subject: String?
    }

    /// The one classification every write goes through: ids assigned, references on the hub's
    /// own bases made relative, and the patient decided by ``PatientCompartment`` — a reference
    /// in a compartment element that cannot be resolved to one patient is refused (422).
    func classify(_ operation: WriteOperation) throws(ResourceError) -> ClassifiedWrite {
        switch operation {
        case .create(.consent, _, let resource), .update(.consent, _, let resource, _):
            if let (element, problem) = AccessFacts.consentProblem(self.references.canonicalize(resource)) {
                throw ResourceError(.unprocessable, .businessRule, problem, expression: [element])
            }
        default: break
        }
        switch operation {
        case .create(let type, let givenID, let resource):
            let id = givenID ?? UUID().uuidString.lowercased()
            let canonical = self.references.canonicalize(resource)
            let patient = try Self.patientID(of: canonical, type: type, id: id)
            return ClassifiedWrite(
                operation: .create(type, id: id, canonical), patient: patient, subject: Self.subject(type: type, id: id, patient: patient))
        case .update(let type, let id, let resource, let ifMatch):
            let canonical = self.references.canonicalize(resource)
            let patient = try Self.patientID(of: canonical, type: type, id: id)
            return ClassifiedWrite(
                operation: .update(type, id: id, canonical, ifMatch: ifMatch), patient: patient,
                subject: Self.subject(type: type, id: id, patient: patient)
            )
        case .delete:
            return ClassifiedWrite(operation: operation, patient: nil, subject: nil)
        }
    }

    /// The AEAD context of one version: a ciphertext moved to another resource or version does
    /// not open.
    static func context(_ type: ResourceType, _ id: String, _ version: Int) -> [UInt8] {
        Array("\(type.rawValue)/\(id)/\(version)".utf8)
    }

    /// Whose data key seals a resource: its patient's, or its own outside any patient compartment.
    static func subject(type: ResourceType, id: String, patient: String?) -> String {
        if let patient { return "Patient/\(patient)" }
        return "\(type.rawValue)/\(id)"
    }

    /// The patient a resource belongs to (``PatientCompartment``), or a 422 naming the element
    /// whose reference cannot be filed under one patient.
    static func patientID(of resource: JSONObject, type: ResourceType, id: String) throws(ResourceError) -> String? {
        do {
            return try PatientCompartment.patient(of: resource, type: type, id: id)
        } catch {
            throw ResourceError(.unprocessable, .invalid, error.description, expression: [error.element])
        }
    }

    /// The resource as stored: server id, `meta.versionId` and `meta.lastUpdated` set, other
    /// `meta` elements (profile, tag, security) kept.
    static func stamp(_ resource: JSONObject, type: ResourceType, id: String, version: Int, at time: Date, patient: String?) -> (
        StoredResource, JSONObject
    ) {
        var body = JSONObject([("resourceType", .string(type.rawValue)), ("id", .string(id))])
        var meta = resource["meta"]?.objectValue ?? JSONObject()
        meta["versionId"] = .string(String(version))
        meta["lastUpdated"] = .string(time.fhirInstant)
        body["meta"] = .object(meta)
        for member in resource.members where !["resourceType", "id", "meta"].contains(member.key) {
            body[member.key] = member.value
        }
        let stored = StoredResource(
            type: type, id: id, versionID: version, lastUpdated: time, isDeleted: false, resource: body,
            patientID: patient
        )
        return (stored, body)
    }
}

extension PostgresResourceStore {
    /// The store as `hub serve` and the test hub run it: the resident ID number unique among
    /// Patients, the hub's own base, the identifier-conflict limit — one wiring for both.
    public init(database: Database, ring: DataKeyRing, logger: Logger, configuration: HubConfiguration, residentIDSystem: String) {
        self.init(
            database: database, ring: ring, logger: logger,
            uniquePatientIdentifierSystems: [residentIDSystem],
            references: ReferenceCanonicalizer(bases: [configuration.server.baseURL + "/fhir"]),
            identifierConflicts: AttemptLimiter(
                attempts: configuration.access.identifierConflictLimit, window: TimeInterval(60 * configuration.access.registrationWindowMinutes)
            )
        )
    }
}
