public import Foundation
public import HubFHIR
public import HubResourcesCore

/// Mutual recognition of results (检查检验结果互认): a result need not be repeated when the lab
/// that performed it is accredited and it is recent enough for its test. The policy — which
/// organizations are accredited, how many days a result of each LOINC code stays recognised —
/// is a profile (`profiles/fhir/mutual-recognition.json`); the flag is computed when a result is
/// read, because age changes, and carried as a `meta.tag`.
public struct MutualRecognitionPolicy: Sendable, Codable, Equatable {
    /// Hub organization ids of accredited laboratories.
    public var accreditedOrganizations: Set<String>
    /// LOINC code → days a result stays recognised. Codes not listed are never flagged.
    public var maximumAgeDays: [String: Int]

    public init(accreditedOrganizations: Set<String>, maximumAgeDays: [String: Int]) {
        self.accreditedOrganizations = accreditedOrganizations
        self.maximumAgeDays = maximumAgeDays
    }

    /// The tag on a recognised result.
    public static let tagSystem = ResourceValidator.mutualRecognitionTagSystem
    public static let tagCode = "recognized"

    public static func load(profilesDirectory: String) throws -> MutualRecognitionPolicy {
        let path = profilesDirectory + "/mutual-recognition.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            return MutualRecognitionPolicy(accreditedOrganizations: [], maximumAgeDays: [:])
        }
        return try JSONDecoder().decode(MutualRecognitionPolicy.self, from: data)
    }

    /// Whether an Observation is recognised at `now`: final (or corrected/amended), performed by
    /// an accredited organization, coded with a listed LOINC code, effective within its days.
    public func recognizes(_ observation: JSONObject, at now: Date) -> Bool {
        guard ["final", "corrected", "amended"].contains(observation["status"]?.stringValue ?? "") else { return false }
        let performers = (observation["performer"]?.arrayValue ?? []).compactMap { $0.referencedID("Organization") }
        guard performers.contains(where: self.accreditedOrganizations.contains) else {
            return false
        }
        let codings = observation["code"]?.objectValue?["coding"]?.arrayValue ?? []
        let days = codings.compactMap { coding -> Int? in
            guard let coding = coding.objectValue, coding["system"]?.stringValue == "http://loinc.org", let code = coding["code"]?.stringValue else {
                return nil
            }
            return self.maximumAgeDays[code]
        }.max()
        guard let days, let effective = observation["effectiveDateTime"]?.stringValue, let range = FHIRDateRange(effective) else { return false }
        return range.low <= now && now.timeIntervalSince(range.low) <= Double(days) * 86_400
    }

    /// The resource with the recognition tag added when it qualifies (Observations only).
    public func flagged(_ stored: StoredResource, at now: Date = Date()) -> StoredResource {
        guard stored.type == .observation, var resource = stored.resource, self.recognizes(resource, at: now) else { return stored }
        var meta = resource["meta"]?.objectValue ?? JSONObject()
        var tags = meta["tag"]?.arrayValue ?? []
        tags.append(
            .object(
                JSONObject([
                    ("system", .string(Self.tagSystem)), ("code", .string(Self.tagCode)),
                    ("display", .string("结果互认 — mutually recognised, need not be repeated")),
                ])))
        meta["tag"] = .array(tags)
        resource["meta"] = .object(meta)
        var flagged = stored
        flagged.resource = resource
        return flagged
    }
}
