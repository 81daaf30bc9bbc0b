import HubAudit
import HubFHIR
import HubResources
public import HubWorkflows
public import Hummingbird

/// `POST /fhir/Patient/$match` (FHIR R4 Patient-match): a Parameters with `resource` (the
/// Patient to find), optionally `onlyCertainMatches` and `count` (at most 100, default 10). The
/// answer is a searchset Bundle of the candidates the caller may see, best first, each with
/// `search.score` and the `match-grade` extension; see ``PatientMatch`` for the rules. The
/// patients answered are audited as read, like a search's.
public struct PatientMatchOperation: Sendable {
    static let matchGrade = "http://hl7.org/fhir/StructureDefinition/match-grade"
    let matcher: PatientMatch

    public init(matcher: PatientMatch) {
        self.matcher = matcher
    }

    public func add(to group: RouterGroup<HubRequestContext>) {
        // A parameter, not the literal "Patient": the router does not fall back from a literal
        // segment to a parameter, so a literal would hide `POST /fhir/Patient`.
        group.post(":type/$match") { request, context in
            let format = try FHIRFormat(request: request)
            guard try FHIRResourceRoutes.type(context) == .patient else {
                throw APIError(.notFound, code: .notSupported, diagnostics: "$match is an operation of Patient")
            }
            context.audit.interaction("operation", action: .read, type: ResourceType.patient.rawValue)
            let access = try context.recordAccess(.patient)
            let (patient, count, onlyCertain) = try Self.input(try await FHIRFormat.body(of: request))
            let candidates = try await self.matcher.candidates(for: patient, count: count, onlyCertain: onlyCertain, access: access)
            // A certainly-not candidate is answered without its resource (not read), but its id
            // says something of that patient: the audit record names it.
            context.audit.returned(candidates.filter { $0.grade != .certainlyNot }.map(\.patient))
            context.audit.targets.note(candidates.filter { $0.grade == .certainlyNot }.map(\.patient.id))
            let base = FHIRResourceRoutes.base(request)
            let entries: [JSONValue] = candidates.map { candidate in
                var entry = JSONObject([("fullUrl", .string("\(base)/Patient/\(candidate.patient.id)"))])
                if candidate.grade != .certainlyNot, let resource = candidate.patient.resource { entry["resource"] = .object(resource) }
                let grade = JSONObject([("url", .string(Self.matchGrade)), ("valueCode", .string(candidate.grade.rawValue))])
                entry["search"] = .object(
                    JSONObject([
                        ("extension", .array([.object(grade)])), ("mode", .string("match")), ("score", .number(Self.decimal(candidate.score))),
                    ]))
                return .object(entry)
            }
            var bundle = JSONObject([("resourceType", .string("Bundle")), ("type", .string("searchset")), ("total", .number(String(entries.count)))])
            if !entries.isEmpty { bundle["entry"] = .array(entries) }
            return format.response(.object(bundle))
        }
    }

    /// A score as a FHIR decimal: `1.0`, `0.8`, `0.6`, `0.0`.
    static func decimal(_ score: Double) -> String {
        String(score)
    }

    /// The Patient, `count` and `onlyCertainMatches` from the Parameters body.
    static func input(_ body: JSONValue) throws(APIError) -> (JSONObject, Int, Bool) {
        guard let parameters = body.objectValue, parameters["resourceType"]?.stringValue == "Parameters" else {
            throw APIError.badRequest("$match takes a Parameters with the Patient as parameter resource")
        }
        var patient: JSONObject?
        var count = 10
        var onlyCertain = false
        for parameter in parameters["parameter"]?.arrayValue ?? [] {
            guard let parameter = parameter.objectValue else { continue }
            switch parameter["name"]?.stringValue {
            case "resource":
                guard let resource = parameter["resource"]?.objectValue, resource["resourceType"]?.stringValue == "Patient" else {
                    throw APIError.badRequest("$match's resource is a Patient", expression: ["resource"])
                }
                patient = resource
            case "count":
                guard let text = parameter["valueInteger"]?.numberText, let number = Int(text), number > 0 else {
                    throw APIError.badRequest("count is a positive whole number (valueInteger)", expression: ["count"])
                }
                count = min(number, PatientMatch.maximumCount)
            case "onlyCertainMatches":
                guard let flag = parameter["valueBoolean"]?.boolValue else {
                    throw APIError.badRequest("onlyCertainMatches is a valueBoolean", expression: ["onlyCertainMatches"])
                }
                onlyCertain = flag
            default:
                throw APIError.badRequest("$match takes the parameters resource, count and onlyCertainMatches")
            }
        }
        guard let patient else { throw APIError.badRequest("$match needs the Patient (parameter resource)", expression: ["resource"]) }
        return (patient, count, onlyCertain)
    }
}
