public import Foundation
import HubFHIR

/// What a regulator's audit report says of a period — every figure computed from the audit
/// records alone by ``compute(_:parameters:)``, so that whoever holds the records (the report
/// carries them, with their proof) computes the same figures offline.
public struct AuditReportSections: Codable, Sendable, Equatable {
    public struct Count: Codable, Sendable, Equatable {
        public var key: String
        public var total: Int
        public var reads: Int
        public var writes: Int
        public var denied: Int
    }

    public struct UserCount: Codable, Sendable, Equatable {
        public var user: String
        public var organization: String
        public var total: Int
        public var distinctPatients: Int
        public var afterHours: Int
    }

    /// One audited access, as a report lists it: ids and codes only.
    public struct Access: Codable, Sendable, Equatable {
        public var index: Int
        public var time: String
        public var organization: String
        public var user: String
        public var action: String
        public var interaction: String
        /// The HTTP status answered, for a request over HTTP.
        public var status: Int?
        /// For a failure, its FHIR issue type.
        public var issue: String?
        public var patient: String?
        public var entities: [String]
        public var reason: String?

        /// How it ended, for people: the HTTP status and the issue, whichever it has
        /// (`403 forbidden`, `forbidden` for an HL7 v2 message, `201`), else `ok`.
        public var result: String {
            let parts = [self.status.map(String.init), self.issue].compactMap { $0 }
            return parts.isEmpty ? "ok" : parts.joined(separator: " ")
        }
    }

    public struct Bucket: Codable, Sendable, Equatable {
        /// `YYYY-MM-DD` (or `YYYY-MM-DD HH:00` for periods of two days or less), China Standard Time.
        public var start: String
        public var reads: Int
        public var writes: Int
        public var denied: Int
    }

    public struct Outlier: Codable, Sendable, Equatable {
        public var user: String
        public var organization: String
        public var distinctPatients: Int
        /// The median of the other users in the period.
        public var peerMedian: Double
    }

    /// Records in the period matching the parameters.
    public var total: Int
    public var byOrganization: [Count]
    public var byUser: [UserCount]
    public var byAction: [Count]
    public var overTime: [Bucket]
    /// Refused requests: unauthenticated (`login`) or forbidden, on any transport.
    public var denied: [Access]
    /// Every use of a break-glass token, with its reason and what it returned.
    public var breakGlass: [Access]
    /// How many accesses fell outside 08:00–18:00 on weekdays (China Standard Time).
    public var afterHours: Int
    /// Users who saw many more distinct patients than their peers (more than three times the
    /// median of the others, and more than ten).
    public var unusualUsers: [Outlier]
    /// With a `patient` parameter: every access to that patient's records ("who saw my record").
    public var patientAccesses: [Access]?

    static func who(_ record: AuditRecord) -> String { record.caller.user ?? record.caller.client ?? "anonymous" }

    package static func access(_ index: Int, _ record: AuditRecord) -> Access {
        Access(
            index: index, time: AuditReportParameters.instant(record.time), organization: record.caller.organization ?? "",
            user: Self.who(record), action: record.action.rawValue, interaction: record.interaction, status: record.status,
            // (A version 1 record's issue is read from its status, and a v1 report did not list
            // it: leaving it out keeps the figures of reports signed then recomputable.)
            issue: record.version >= 2 ? record.issue?.rawValue : nil, patient: record.patient, entities: record.entities,
            reason: record.caller.breakGlassReason
        )
    }

    /// China Standard Time, in which the hub's reports count days and office hours.
    public static let zone = TimeZone(secondsFromGMT: 8 * 3600)!

    /// The sections for `records` (decoded leaves with their log indexes) under `parameters`.
    public static func compute(_ records: [(index: Int, record: AuditRecord)], parameters: AuditReportParameters) -> AuditReportSections {
        let selected = records.filter { parameters.selects($0.record) }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = Self.zone
        func isRead(_ record: AuditRecord) -> Bool { record.action == .read }
        func isDenied(_ record: AuditRecord) -> Bool { record.issue == .login || record.issue == .forbidden }
        func isAfterHours(_ record: AuditRecord) -> Bool {
            let parts = calendar.dateComponents([.hour, .weekday], from: record.time)
            return parts.weekday == 1 || parts.weekday == 7 || (parts.hour ?? 0) < 8 || (parts.hour ?? 0) >= 18
        }
        let who = Self.who
        let access = Self.access
        func counts(_ key: (AuditRecord) -> String) -> [Count] {
            var table: [String: Count] = [:]
            for (_, record) in selected {
                let name = key(record)
                var count = table[name] ?? Count(key: name, total: 0, reads: 0, writes: 0, denied: 0)
                count.total += 1
                if isDenied(record) { count.denied += 1 } else if isRead(record) { count.reads += 1 } else { count.writes += 1 }
                table[name] = count
            }
            return table.values.sorted { ($0.total, $1.key) > ($1.total, $0.key) }
        }

        var users: [String: (organization: String, total: Int, patients: Set<String>, afterHours: Int)] = [:]
        for (_, record) in selected {
            var entry = users[who(record)] ?? (record.caller.organization ?? "", 0, [], 0)
            entry.total += 1
            if let patient = record.patient, !isDenied(record) { entry.patients.insert(patient) }
            if isAfterHours(record) { entry.afterHours += 1 }
            users[who(record)] = entry
        }
        let byUser = users.map {
            UserCount(
                user: $0.key, organization: $0.value.organization, total: $0.value.total, distinctPatients: $0.value.patients.count,
                afterHours: $0.value.afterHours)
        }
        .sorted { ($0.total, $1.user) > ($1.total, $0.user) }

        // The median of the *other* users: from one sorted list, skipping the user's own place.
        let sorted = byUser.map(\.distinctPatients).sorted()
        var outliers: [Outlier] = []
        for user in byUser where sorted.count > 1 && user.distinctPatients > 10 {
            let own = sorted.firstIndex(of: user.distinctPatients)!
            func other(_ k: Int) -> Double { Double(sorted[k < own ? k : k + 1]) }
            let count = sorted.count - 1
            let median = count % 2 == 1 ? other(count / 2) : (other(count / 2 - 1) + other(count / 2)) / 2
            if Double(user.distinctPatients) > 3 * median {
                outliers.append(
                    Outlier(user: user.user, organization: user.organization, distinctPatients: user.distinctPatients, peerMedian: median))
            }
        }

        let hourly = parameters.to.timeIntervalSince(parameters.from) <= 2 * 86_400
        var buckets: [String: Bucket] = [:]
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = Self.zone
        formatter.dateFormat = hourly ? "yyyy-MM-dd HH:00" : "yyyy-MM-dd"
        for (_, record) in selected {
            let start = formatter.string(from: record.time)
            var bucket = buckets[start] ?? Bucket(start: start, reads: 0, writes: 0, denied: 0)
            if isDenied(record) { bucket.denied += 1 } else if isRead(record) { bucket.reads += 1 } else { bucket.writes += 1 }
            buckets[start] = bucket
        }

        return AuditReportSections(
            total: selected.count,
            byOrganization: counts { $0.caller.organization ?? "(none)" },
            byUser: byUser,
            byAction: counts { "\($0.action.rawValue) \($0.interaction)" },
            overTime: buckets.values.sorted { $0.start < $1.start },
            denied: selected.filter { isDenied($0.record) }.map { access($0.index, $0.record) },
            breakGlass: selected.filter { $0.record.caller.purposeOfUse == "ETREAT" }.map { access($0.index, $0.record) },
            afterHours: selected.filter { isAfterHours($0.record) }.count,
            unusualUsers: outliers.sorted { $0.distinctPatients > $1.distinctPatients },
            patientAccesses: parameters.patient == nil ? nil : selected.map { access($0.index, $0.record) }
        )
    }
}

/// What a report covers: a period (`from` inclusive, `to` exclusive) and, optionally, one
/// organization, user or patient.
public struct AuditReportParameters: Codable, Sendable, Equatable {
    public var from: Date
    public var to: Date
    public var organization: String?
    public var user: String?
    public var patient: String?

    public init(from: Date, to: Date, organization: String? = nil, user: String? = nil, patient: String? = nil) {
        self.from = from
        self.to = to
        self.organization = organization
        self.user = user
        self.patient = patient
    }

    package func selects(_ record: AuditRecord) -> Bool {
        record.time >= self.from && record.time < self.to
            && (self.organization.map { $0 == record.caller.organization } ?? true)
            && (self.user.map { $0 == record.caller.user || $0 == record.caller.client } ?? true)
            && (self.patient.map { $0 == record.patient } ?? true)
    }

    /// The form the hub writes times in (`2026-11-30T16:30:00.123Z`).
    package static func instant(_ date: Date) -> String { UTCTime(date).instant }

    // Dates travel as RFC 3339 text, so that the signed bytes do not depend on float printing.
    enum CodingKeys: String, CodingKey { case from, to, organization, user, patient }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func date(_ key: CodingKeys) throws -> Date {
            guard let date = UTCTime.parseInstant(try container.decode(String.self, forKey: key)) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "not a time as the hub writes them")
            }
            return date
        }
        self.from = try date(.from)
        self.to = try date(.to)
        self.organization = try container.decodeIfPresent(String.self, forKey: .organization)
        self.user = try container.decodeIfPresent(String.self, forKey: .user)
        self.patient = try container.decodeIfPresent(String.self, forKey: .patient)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.instant(self.from), forKey: .from)
        try container.encode(Self.instant(self.to), forKey: .to)
        try container.encodeIfPresent(self.organization, forKey: .organization)
        try container.encodeIfPresent(self.user, forKey: .user)
        try container.encodeIfPresent(self.patient, forKey: .patient)
    }
}
