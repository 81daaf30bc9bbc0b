import Foundation
public import HubFHIR
public import HubResourcesCore

/// A Bulk Data import kick-off (`POST [base]/$import` with a `Parameters` body, in the shape of
/// the Bulk Data Import proposal) as a value, checked before anything is queued.
///
/// ```json
/// {"resourceType": "Parameters", "parameter": [
///   {"name": "inputFormat", "valueCode": "application/fhir+ndjson"},
///   {"name": "input", "part": [{"name": "type", "valueCode": "Patient"},
///                              {"name": "url", "valueUri": "https://hub/fhir/$import-input/…"}]}]}
/// ```
///
/// Each input's `url` names NDJSON the client staged on this hub (`POST [base]/$import-input`):
/// the hub fetches nothing from elsewhere, so an import cannot make it reach into a network.
public struct ImportRequest: Sendable, Equatable {
    public struct Input: Sendable, Equatable {
        /// The type every line of the input must be.
        public var type: ResourceType
        /// The staged input's id.
        public var inputID: String

        public init(type: ResourceType, inputID: String) {
            self.type = type
            self.inputID = inputID
        }
    }

    /// The inputs, as the kick-off named them.
    public var inputs: [Input]
    /// The system the records come from (`inputSource`), as the client named it.
    public var inputSource: String?

    public static let inputFormat = "application/fhir+ndjson"
    /// At most this many inputs per job.
    public static let maximumInputs = 1_000
    /// What names a staged input in a URL.
    public static let inputPath = "$import-input/"

    public init(inputs: [Input], inputSource: String? = nil) {
        self.inputs = inputs
        self.inputSource = inputSource
    }

    /// Reads a kick-off's body.
    ///
    /// - Parameter writable: The types the caller's scopes let it write (nil: every type); an
    ///   input of another type is refused (403).
    public init(parameters body: JSONValue, writable: Set<ResourceType>?) throws(ResourceError) {
        func invalid(_ message: String, _ expression: String = "Parameters.parameter") -> ResourceError {
            ResourceError(.invalid, .invalid, message, expression: [expression])
        }
        guard let object = body.objectValue, object["resourceType"]?.stringValue == "Parameters" else {
            throw invalid("the body of $import is a Parameters resource", "Parameters")
        }
        var inputs: [Input] = []
        var format: String?
        var source: String?
        for parameter in object["parameter"]?.elements ?? [] {
            guard let name = parameter.objectValue?["name"]?.stringValue else { throw invalid("a parameter has no name") }
            switch name {
            case "inputFormat":
                format = parameter.objectValue?["valueCode"]?.stringValue ?? parameter.objectValue?["valueString"]?.stringValue
            case "inputSource":
                source = parameter.objectValue?["valueUri"]?.stringValue ?? parameter.objectValue?["valueUrl"]?.stringValue
            case "storageDetail", "mode":
                // The proposal's transport hints: the inputs are on this hub, whatever they say.
                continue
            case "input":
                var type: String?
                var url: String?
                for part in parameter.objectValue?["part"]?.elements ?? [] {
                    let member = part.objectValue
                    switch member?["name"]?.stringValue {
                    case "type": type = member?["valueCode"]?.stringValue ?? member?["valueString"]?.stringValue
                    case "url": url = member?["valueUri"]?.stringValue ?? member?["valueUrl"]?.stringValue
                    default: continue
                    }
                }
                guard let typeName = type, let resourceType = ResourceType(rawValue: typeName) else {
                    throw invalid("input \(inputs.count + 1) needs a type the hub stores", "Parameters.parameter.part")
                }
                guard ImportIdentity.importableTypes.contains(resourceType) else {
                    throw ResourceError(
                        .unprocessable, .notSupported,
                        "\(typeName) is not imported: an import writes "
                            + ImportIdentity.importableTypes.map(\.rawValue).joined(separator: ", ")
                            + " (the others carry workflow or access rules and are written one at a time)",
                        expression: ["Parameters.parameter.part"])
                }
                if let writable, !writable.contains(resourceType) {
                    throw ResourceError(.forbidden, .forbidden, "the caller's scopes do not allow writing \(typeName) resources")
                }
                guard let url, let id = Self.inputID(in: url) else {
                    throw invalid(
                        "input \(inputs.count + 1) needs the url of NDJSON staged on this hub (POST [base]/$import-input)",
                        "Parameters.parameter.part")
                }
                inputs.append(Input(type: resourceType, inputID: id))
            default:
                throw invalid("$import takes inputFormat, inputSource, storageDetail, mode and input; not \(name)")
            }
        }
        guard format == nil || format == Self.inputFormat else {
            throw invalid("inputFormat must be \(Self.inputFormat)")
        }
        guard !inputs.isEmpty else { throw invalid("$import needs at least one input") }
        guard inputs.count <= Self.maximumInputs else { throw invalid("at most \(Self.maximumInputs) inputs per import") }
        guard Set(inputs.map(\.inputID)).count == inputs.count else { throw invalid("an input is named twice") }
        self.inputs = inputs
        self.inputSource = source
    }

    /// The staged input a URL names (`…/$import-input/{id}`), lower-cased; nil for anything else.
    static func inputID(in url: String) -> String? {
        guard let range = url.range(of: Self.inputPath, options: .backwards) else { return nil }
        let id = url[range.upperBound...].lowercased()
        guard id.count == 36, let uuid = UUID(uuidString: id) else { return nil }
        return uuid.uuidString.lowercased()
    }

    /// The order inputs are written in: every Patient first, so that the records that follow
    /// find their patients whatever order the inputs were named in; otherwise as named.
    public var processingOrder: [Input] {
        self.inputs.filter { $0.type == .patient } + self.inputs.filter { $0.type != .patient }
    }
}
