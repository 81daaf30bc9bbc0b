// swift-tools-version: 6.1
import PackageDescription

/// Settings every target shares: Swift 6 language mode is the package default; these add the
/// upcoming rules the codebase already follows so new code cannot slip back.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "health-records-hub",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "hub", targets: ["hub"]),
        .executable(name: "hubctl", targets: ["hubctl"]),
        .executable(name: "hub-bench", targets: ["hub-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        // Configuration: a value read once at start. Knows nothing of HTTP or storage.
        .target(
            name: "HubConfig",
            swiftSettings: swiftSettings
        ),
        // The system OpenSSL 3 libcrypto, for the SM suite (SM2, SM3, SM4).
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // Crypto suites (SM via OpenSSL, international via swift-crypto), the self-describing
        // formats, envelope encryption and key stores. Knows nothing of HTTP.
        .target(
            name: "HubCrypto",
            dependencies: [
                "COpenSSL",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Data keys in PostgreSQL (envelope encryption, crypto-erasure) and the key jobs:
        // re-wrapping after a KEK rotation, re-encryption to another suite.
        .target(
            name: "HubKeys",
            dependencies: [
                "HubConfig",
                "HubCrypto",
                "HubStorage",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The clinical record model without a database: the ResourceStore seam, validation
        // against the hub's profiles, search queries as parsed values, Bundle processing, the
        // access policy as data (RecordAccess, AccessFacts) and the one table of error codes.
        .target(
            name: "HubResourcesCore",
            dependencies: ["HubAuditCore", "HubConfig", "HubCrypto", "HubFHIR", "HubFHIRXML"],
            swiftSettings: swiftSettings
        ),
        // The clinical record store in PostgreSQL: resource versions encrypted with patients'
        // data keys, search indexes, access checked in the SQL. Knows nothing of HTTP.
        .target(
            name: "HubResources",
            dependencies: [
                "HubResourcesCore",
                "HubAudit",
                "HubConfig",
                "HubFHIR",
                "HubKeys",
                "HubCrypto",
                "HubStorage",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // FHIR R4 resources the hub emits itself (OperationOutcome, CapabilityStatement).
        .target(
            name: "HubFHIR",
            swiftSettings: swiftSettings
        ),
        // PostgreSQL access and migrations. Knows nothing of HTTP.
        .target(
            name: "HubStorage",
            dependencies: [
                "HubConfig",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // FHIR Bulk Data's pure half: the kick-off request as a value, the plan a job walks (a
        // state machine of pages and files) and the completion manifest. No database, no HTTP.
        .target(
            name: "HubBulkDataCore",
            dependencies: ["HubAuditCore", "HubCrypto", "HubFHIR", "HubResourcesCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        // Bulk Data in PostgreSQL: export jobs and their sealed NDJSON, and the leased runner
        // that reads them through the asking organization's access. Knows nothing of HTTP.
        .target(
            name: "HubBulkData",
            dependencies: [
                "HubBulkDataCore",
                "HubAudit",
                "HubFHIR",
                "HubKeys",
                "HubResources",
                "HubStorage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Open data's pure half: dataset definitions, the projection of records to
        // quasi-identifiers, k-anonymity (generalization and suppression), Laplace noise and the
        // signed release. No database, no HTTP.
        .target(
            name: "HubOpenDataCore",
            dependencies: ["HubCrypto", "HubFHIR"],
            swiftSettings: swiftSettings
        ),
        // Open data in PostgreSQL: datasets through their approval, the leased runner that
        // computes releases from the records, and publication. Knows nothing of HTTP.
        .target(
            name: "HubOpenData",
            dependencies: [
                "HubOpenDataCore",
                "HubAudit",
                "HubAuditCore",
                "HubCrypto",
                "HubFHIR",
                "HubResources",
                "HubStorage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // HTTP application assembly: TLS, middleware, routes. Thin handlers over services.
        .target(
            name: "HubServer",
            dependencies: [
                "HubBulkData",
                "HubOpenData",
                "HubOpenDataCore",
                "HubFHIRXML",
                "HubAccess",
                "HubHL7",
                "HubNotifications",
                "HubWorkflows",
                "HubAudit",
                "HubConfig",
                "HubCrypto",
                "HubFHIR",
                "HubResources",
                "HubStorage",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // The HTTPS client hubctl (and the tests) use to talk to a hub.
        .target(
            name: "HubClient",
            dependencies: [
                "HubConfig",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "hub",
            dependencies: [
                "HubWorkflows",
                "HubAccess",
                "HubAudit",
                "HubConfig",
                "HubFHIR",
                "HubServer",
                "HubStorage",
                "HubCrypto",
                "HubKeys",
                "HubResources",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "hubctl",
            dependencies: [
                "HubCredentials",
                "HubAuditCore",
                "HubOpenDataCore",
                "HubCrypto",
                "HubConfig",
                "HubClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        // Benchmarks (ops/bench/…): measured in release builds beside OpenSSL's own figures.
        .executableTarget(
            name: "hub-bench",
            dependencies: [
                "HubAudit", "HubAuditCore", "HubConfig", "HubCrypto", "HubFHIR", "HubStorage", "HubSynthetic", "HubClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // The audit trail's pure part: records and their leaf bytes, the Merkle tree and its
        // proofs, checkpoints, segments, reports and their offline verifiers — what a regulator's
        // verifier needs, without a database.
        .target(
            name: "HubAuditCore",
            dependencies: ["HubCrypto", "HubFHIR"],
            swiftSettings: swiftSettings
        ),
        // What a client proves itself with: signed client assertions (SMART Backend Services) and
        // the access errors they raise — shared by the hub and hubctl, without a database.
        .target(
            name: "HubCredentials",
            dependencies: ["HubCrypto", "HubFHIR"],
            swiftSettings: swiftSettings
        ),
        // The tamper-evident audit log in PostgreSQL: the queue, integration into the RFC 9162
        // Merkle tree, stored proofs, signed checkpoints, feeds and reports.
        .target(
            name: "HubAudit",
            dependencies: [
                "HubAuditCore",
                "HubCrypto",
                "HubFHIR",
                "HubStorage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Who may do what: organizations, clients and users, bearer tokens, signed client
        // assertions, SMART scopes, and the grant a request carries. Knows nothing of HTTP.
        .target(
            name: "HubAccess",
            dependencies: [
                "HubCredentials",
                "HubAudit",
                "HubCrypto",
                "HubFHIR",
                "HubResourcesCore",
                "HubStorage",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // HL7 v2 (ER7) messages: parsing, ORU^R01 lab results as FHIR resources, ACKs. Pure: no
        // storage, no network.
        .target(name: "HubHL7", dependencies: ["HubFHIR"], swiftSettings: swiftSettings),
        // Workflows across hospitals (issue #6): rules that writes entail beyond validation —
        // booking takes Slots atomically — applied by a store decorator. Knows nothing of HTTP.
        .target(
            name: "HubWorkflows",
            dependencies: ["HubAuditCore", "HubConfig", "HubCrypto", "HubDocuments", "HubFHIR", "HubHL7", "HubResourcesCore"],
            swiftSettings: swiftSettings
        ),
        // The system libxml2: XML parsed without network or DTD.
        .systemLibrary(
            name: "CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]
        ),
        // XML as values: documents parsed by libxml2 (no network, no DTD) into element trees
        // and XPath answers, and a writer whose output is well-formed whatever the values hold.
        .target(name: "HubXML", dependencies: ["CLibXML2"], swiftSettings: swiftSettings),
        // FHIR's XML representation (application/fhir+xml), read into and written from the JSON
        // the rest of the hub speaks, in the order and with the primitive kinds of R4's tables.
        .target(name: "HubFHIRXML", dependencies: ["HubFHIR", "HubXML"], swiftSettings: swiftSettings),
        // Clinical documents (CDA R2, as WS/T 500 shares EMR documents): well-formedness and
        // header fields. Pure: no storage, no network.
        .target(name: "HubDocuments", dependencies: ["HubHL7", "HubXML"], swiftSettings: swiftSettings),
        // Notifications for Subscriptions: the outbox in PostgreSQL, matching by the store's own
        // search, delivery over HTTPS with retries. Knows nothing of the hub's HTTP server.
        .target(
            name: "HubNotifications",
            dependencies: [
                "HubClient",
                "HubConfig",
                "HubFHIR",
                "HubResources",
                "HubStorage",
                "HubWorkflows",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Synthetic, realistic records (Chinese names, valid resident IDs, LOINC-coded results)
        // for tests, fixtures and the benchmark loader; never real data.
        .target(name: "HubSynthetic", swiftSettings: swiftSettings),
        // Helpers shared by the test targets: a fresh database per test, a server on a free port,
        // a TCP proxy that can cut the database connection.
        .target(
            name: "HubTestSupport",
            dependencies: [
                "HubAccess",
                "HubWorkflows",
                "HubNotifications",
                "HubAudit",
                "HubSynthetic",
                "HubConfig",
                "HubCrypto",
                "HubFHIR",
                "HubKeys",
                "HubResources",
                "HubServer",
                "HubStorage",
                "HubClient",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Tests/HubTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "HubConfigTests", dependencies: ["HubConfig"], swiftSettings: swiftSettings),
        .testTarget(
            name: "HubBulkDataTests",
            dependencies: [
                "HubBulkData", "HubBulkDataCore", "HubAudit", "HubFHIR", "HubKeys", "HubResources", "HubStorage", "HubSynthetic", "HubTestSupport",
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HubOpenDataTests",
            dependencies: [
                "HubOpenData", "HubOpenDataCore", "HubAudit", "HubCrypto", "HubFHIR", "HubResources", "HubStorage", "HubSynthetic", "HubTestSupport",
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HubAuditTests",
            dependencies: ["HubAudit", "HubCrypto", "HubStorage", "HubTestSupport", .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HubAccessTests",
            dependencies: ["HubAccess", "HubAudit", "HubCrypto", "HubFHIR", "HubResources", "HubStorage", "HubTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HubWorkflowsTests",
            dependencies: ["HubWorkflows", "HubAudit", "HubConfig", "HubFHIR", "HubHL7", "HubResources", "HubSynthetic", "HubTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HubNotificationsTests",
            dependencies: ["HubNotifications", "HubWorkflows", "HubClient", "HubConfig", "HubFHIR", "HubResources", "HubTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "HubDocumentsTests", dependencies: ["HubDocuments", "HubSynthetic"], swiftSettings: swiftSettings),
        .testTarget(name: "HubHL7Tests", dependencies: ["HubHL7", "HubFHIR"], swiftSettings: swiftSettings),
        .testTarget(
            name: "HubFHIRTests", dependencies: ["HubFHIR", "HubFHIRXML", "HubSynthetic", "HubTestSupport", "HubXML"], swiftSettings: swiftSettings),
        .testTarget(
            name: "HubResourcesCoreTests",
            dependencies: ["HubResourcesCore", "HubFHIR", "HubSynthetic", "HubTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HubResourcesTests",
            dependencies: ["HubResources", "HubAuditCore", "HubFHIR", "HubKeys", "HubCrypto", "HubStorage", "HubTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HubKeysTests",
            dependencies: ["HubKeys", "HubCrypto", "HubStorage", "HubTestSupport", .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HubCryptoTests",
            dependencies: ["HubCrypto", "HubTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HubStorageTests",
            dependencies: ["HubStorage", "HubTestSupport", .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HubServerTests",
            dependencies: [
                "HubServer", "HubTestSupport", "HubClient", "HubConfig", "HubCrypto", "HubFHIR", "HubFHIRXML", "HubStorage",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: swiftSettings
        ),
        // The executables, run as processes the way operators and clinicians run them.
        .testTarget(
            name: "hubTests", dependencies: ["HubTestSupport", "HubAuditCore", "HubConfig", "HubClient", "HubCrypto", "HubSynthetic"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "hubctlTests",
            dependencies: ["HubTestSupport", "HubAccess", "HubAudit", "HubConfig", "HubClient", "HubCrypto", "HubSynthetic"],
            swiftSettings: swiftSettings
        ),
    ]
)
