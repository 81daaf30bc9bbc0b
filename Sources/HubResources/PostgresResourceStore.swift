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
    /// Ids, canonical references and each write's patient (the hub's own bases made relative).
    let classifier: WriteClassifier

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
        self.classifier = WriteClassifier(references: references)
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
        self.classifier.canonical(operation)
    }

    /// The AEAD context of one version: a ciphertext moved to another resource or version does
    /// not open.
    static func context(_ type: ResourceType, _ id: String, _ version: Int) -> [UInt8] {
        Array("\(type.rawValue)/\(id)/\(version)".utf8)
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
