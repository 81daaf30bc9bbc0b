import HubCrypto
public import HubFHIR
public import HubResourcesCore

/// `Patient/$match` (FHIR R4 Patient-match): the registered patients a record from another
/// system most likely is, each with a score and a grade, among the patients the caller may see.
///
/// Matching is by what the hub can compare without reading names in clear (names are
/// blind-indexed, docs/security.md), strongest first:
///
/// | Agreement | Score | Grade |
/// |---|---|---|
/// | the resident ID number or the social security card number (national, one per person) | 1.0 | certain |
/// | another identifier, system and value (a hospital's MRN: unique only as its hospital keeps it) | 0.9 | probable |
/// | family and given name as written, full birth date and gender | 0.8 | probable |
/// | family and given name as written and full birth date | 0.6 | possible |
///
/// A candidate takes its best agreement. A record whose resident ID number differs from the
/// input's is `certainly-not`, whatever else agrees: two people share names and birthdays, never
/// an ID number; it is answered without its resource (the caller learns it is not the patient,
/// not what it holds). Only identifiers with a system count (a bare value names no register),
/// at most ``maximumIdentifiers`` of them.
///
/// `onlyCertain` (R4 `onlyCertainMatches`) answers one certain candidate or none: when two are
/// certain, neither is safe to link automatically.
public struct PatientMatch: Sendable {
    public enum Grade: String, Sendable, Comparable {
        case certain, probable, possible
        case certainlyNot = "certainly-not"

        var rank: Int {
            switch self {
            case .certain: 3
            case .probable: 2
            case .possible: 1
            case .certainlyNot: 0
            }
        }

        public static func < (lhs: Grade, rhs: Grade) -> Bool { lhs.rank < rhs.rank }
    }

    public struct Candidate: Sendable {
        public var patient: StoredResource
        public var score: Double
        public var grade: Grade
    }

    /// One search that, if it finds a patient, makes it a candidate of this score and grade.
    struct Probe: Equatable {
        var parameters: [String: String]
        var score: Double
        var grade: Grade

        static func == (lhs: Probe, rhs: Probe) -> Bool { lhs.parameters == rhs.parameters && lhs.grade == rhs.grade }
    }

    /// At most this many candidates per answer (`count` asks for fewer).
    public static let maximumCount = 100
    /// Identifiers of the input that are searched (each is a search).
    public static let maximumIdentifiers = 10

    let store: any ResourceStore
    let systems: IdentifierSystems

    public init(store: any ResourceStore, systems: IdentifierSystems) {
        self.store = store
        self.systems = systems
    }

    /// The candidates for `patient`, best first (by score, then id), at most `count`;
    /// `onlyCertain` keeps the certain ones (R4: `onlyCertainMatches`).
    public func candidates(for patient: JSONObject, count: Int, onlyCertain: Bool, access: RecordAccess) async throws -> [Candidate] {
        let probes = Self.probes(for: patient, systems: self.systems)
        guard !probes.isEmpty else {
            throw ResourceError(
                .invalid, .required, "$match needs an identifier with its system, or family and given name with the birth date",
                expression: ["Patient"])
        }
        var best: [String: Candidate] = [:]
        for probe in probes {
            var parameters = probe.parameters.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            parameters.append(("_count", String(Self.maximumCount)))
            let found = try await self.store.search(try SearchQuery(type: .patient, parameters: parameters, lenient: false), access: access)
            for stored in found.resources where (best[stored.id]?.score ?? -1) < probe.score {
                best[stored.id] = Candidate(patient: stored, score: probe.score, grade: probe.grade)
            }
        }
        let inputIDs = Self.residentIDs(of: patient, system: self.systems.residentID)
        var candidates = Array(best.values)
        for index in candidates.indices {
            let stored = candidates[index].patient.resource.map { Self.residentIDs(of: $0, system: self.systems.residentID) } ?? []
            if !inputIDs.isEmpty, !stored.isEmpty, inputIDs.isDisjoint(with: stored) {
                candidates[index].grade = .certainlyNot
                candidates[index].score = 0
            }
        }
        if onlyCertain {
            let certain = candidates.filter { $0.grade == .certain }
            return certain.count == 1 ? certain : []
        }
        return
            candidates
            .sorted { ($0.score, $1.patient.id) > ($1.score, $0.patient.id) }
            .prefix(max(0, min(count, Self.maximumCount)))
            .map { $0 }
    }

    /// The searches `patient` allows, strongest first.
    static func probes(for patient: JSONObject, systems: IdentifierSystems) -> [Probe] {
        var probes: [Probe] = []
        for identifier in patient["identifier"]?.arrayValue ?? [] {
            guard let object = identifier.objectValue, let system = object["system"]?.stringValue, var value = object["value"]?.stringValue,
                Self.isSearchable(system), Self.isSearchable(value)
            else { continue }
            let national = [systems.residentID, systems.socialSecurityCard].contains(system)
            if system == systems.residentID { value = BlindIndex.normalize(value, .identifier) }  // as the index holds it
            let probe = Probe(parameters: ["identifier": "\(system)|\(value)"], score: national ? 1 : 0.9, grade: national ? .certain : .probable)
            if !probes.contains(probe) { probes.append(probe) }
            if probes.count == Self.maximumIdentifiers { break }
        }
        let name = patient["name"]?.arrayValue?.lazy.compactMap(\.objectValue).first { $0["family"]?.stringValue != nil }
        if let family = name?["family"]?.stringValue, let given = name?["given"]?.arrayValue?.first?.stringValue,
            Self.isSearchable(family), Self.isSearchable(given), let birthDate = patient["birthDate"]?.stringValue, FHIRPrimitive.isDate(birthDate),
            birthDate.count == 10  // a full date: a year alone agrees with too many people
        {
            let demographic = ["family:exact": family, "given:exact": given, "birthdate": birthDate]
            if let gender = patient["gender"]?.stringValue, ["male", "female", "other", "unknown"].contains(gender) {
                probes.append(Probe(parameters: demographic.merging(["gender": gender]) { $1 }, score: 0.8, grade: .probable))
            }
            probes.append(Probe(parameters: demographic, score: 0.6, grade: .possible))
        }
        return probes
    }

    /// Whether `value` can be a search value as it is: not empty, within the length a search
    /// takes, without the separators the hub's search syntax gives meaning to.
    static func isSearchable(_ value: String) -> Bool {
        !value.isEmpty && value.count <= SearchQuery.Limits.valueLength && !value.contains(",") && !value.contains("|")
    }

    /// The resident ID numbers a Patient carries, normalised as the blind index normalises them
    /// (no spaces or hyphens, ASCII digits, upper-case X): what the search compared.
    static func residentIDs(of patient: JSONObject, system: String) -> Set<String> {
        Set(
            (patient["identifier"]?.arrayValue ?? []).compactMap(\.objectValue).filter { $0["system"]?.stringValue == system }
                .compactMap { $0["value"]?.stringValue.map { BlindIndex.normalize($0, .identifier) } })
    }
}
