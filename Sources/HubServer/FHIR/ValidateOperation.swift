import HubAudit
import HubFHIR
public import HubResources
public import Hummingbird

/// `POST /fhir/{type}/$validate` (FHIR R4 Resource-validate): whether a resource would be
/// accepted, checked exactly as a create checks it — the base specification's rules, then the
/// hub's profile — and nothing stored.
///
/// The body is the resource, or a Parameters with `resource`, and optionally `mode` (`create`,
/// the default and the only mode without a stored resource to compare with) and `profile` (the
/// type's base StructureDefinition: the hub checks no other). The answer is 200 with an
/// OperationOutcome listing every problem — an invalid resource is a result, not a failed request.
public struct ValidateOperation: Sendable {
    let validator: ResourceValidator

    public init(validator: ResourceValidator) {
        self.validator = validator
    }

    public func add(to group: RouterGroup<HubRequestContext>) {
        group.post(":type/$validate") { request, context in
            _ = try FHIRFormat(request: request)  // 406 for a format the hub does not write
            let type = try FHIRResourceRoutes.type(context)
            context.audit.interaction("operation", action: .execute, type: type.rawValue)
            // The caller's scopes must reach the type; nothing is read or written.
            _ = try context.recordAccess(type)
            let resource = try Self.resource(in: try await FHIRFormat.body(of: request), type: type)
            let outcome: OperationOutcome
            do throws(ResourceError) {
                _ = try self.validator.validate(resource, as: type, expectedID: nil)
                outcome = OperationOutcome(issue: [
                    .init(severity: .information, code: .informational, diagnostics: "no issues: the resource would be accepted")
                ])
            } catch {
                var issues = [
                    OperationOutcome.Issue(severity: .error, code: error.issueType, diagnostics: error.diagnostics, expression: error.expression)
                ]
                issues += error.additionalIssues
                outcome = OperationOutcome(issue: issues)
            }
            return Response.json(outcome, contentType: HubMediaType.fhirJSON)
        }
    }

    /// The resource to validate: the body itself, or a Parameters' `resource`.
    static func resource(in body: JSONValue, type: ResourceType) throws(APIError) -> JSONValue {
        guard let object = body.objectValue, object["resourceType"]?.stringValue == "Parameters" else { return body }
        var resource: JSONValue?
        for parameter in object["parameter"]?.arrayValue ?? [] {
            guard let parameter = parameter.objectValue else { continue }
            switch parameter["name"]?.stringValue {
            case "resource": resource = parameter["resource"]
            case "mode":
                guard let mode = parameter["valueCode"]?.stringValue, mode == "create" else {
                    throw APIError(
                        .badRequest, code: .notSupported,
                        diagnostics: "$validate takes mode create (or none); update and delete are not supported", expression: ["mode"])
                }
            case "profile":
                let base = "http://hl7.org/fhir/StructureDefinition/\(type.rawValue)"
                guard let profile = parameter["valueCanonical"]?.stringValue ?? parameter["valueUri"]?.stringValue,
                    profile == base || profile.hasPrefix(base + "|")
                else {
                    throw APIError(
                        .badRequest, code: .notSupported, diagnostics: "$validate checks against \(base) (with the hub's rules) only",
                        expression: ["profile"])
                }
            default:
                throw APIError.badRequest("$validate takes the parameters resource, mode and profile")
            }
        }
        guard let resource else { throw APIError.badRequest("$validate needs the resource (parameter resource)", expression: ["resource"]) }
        return resource
    }
}
