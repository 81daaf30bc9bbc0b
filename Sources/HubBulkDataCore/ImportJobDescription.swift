public import HubAuditCore
public import HubFHIR
public import HubResourcesCore

/// What a queued import must remember to run without its request: the request, who asked (the
/// audit trail names them on every batch) and what they may write. Stored sealed.
public struct ImportJobDescription: Sendable, Equatable {
    public var request: ImportRequest
    /// The kick-off's URL as the client sent it: the manifest's `request`.
    public var requestURL: String
    public var caller: Caller
    /// The types the caller's scopes let it write when it asked (nil: all).
    public var writableTypes: Set<ResourceType>?

    public init(request: ImportRequest, requestURL: String, caller: Caller, writableTypes: Set<ResourceType>?) {
        self.request = request
        self.requestURL = requestURL
        self.caller = caller
        self.writableTypes = writableTypes
    }

    /// The access every batch is written with: the asking organization's (never an emergency's).
    public var access: RecordAccess? {
        guard let organization = self.caller.organization else { return nil }
        return RecordAccess(.organization(organization), readableTypes: [], writableTypes: self.writableTypes)
    }

    /// The compact JSON that is sealed.
    public var serialized: [UInt8] {
        var object = JSONObject([
            (
                "inputs",
                .array(
                    self.request.inputs.map { input in
                        .object(JSONObject([("type", .string(input.type.rawValue)), ("input", .string(input.inputID))]))
                    })
            ),
            ("url", .string(self.requestURL)),
            ("caller", .object(self.caller.jobJSON)),
        ])
        if let source = self.request.inputSource { object["inputSource"] = .string(source) }
        if let writable = self.writableTypes { object["writableTypes"] = .array(writable.map(\.rawValue).sorted().map { .string($0) }) }
        return JSONValue.object(object).serialized()
    }

    /// Reads what ``serialized`` wrote; nil for anything else.
    public init?(serialized bytes: [UInt8]) {
        guard let object = (try? JSONParser.parse(bytes))?.objectValue, let url = object["url"]?.stringValue,
            let callerObject = object["caller"]?.objectValue, let caller = Caller(jobJSON: callerObject),
            let inputValues = object["inputs"]?.arrayValue
        else { return nil }
        var inputs: [ImportRequest.Input] = []
        for value in inputValues {
            guard let type = value.objectValue?["type"]?.stringValue.flatMap(ResourceType.init(rawValue:)),
                let id = value.objectValue?["input"]?.stringValue
            else { return nil }
            inputs.append(ImportRequest.Input(type: type, inputID: id))
        }
        self.request = ImportRequest(inputs: inputs, inputSource: object["inputSource"]?.stringValue)
        self.requestURL = url
        self.caller = caller
        self.writableTypes = object["writableTypes"].map { Set($0.elements.compactMap { $0.stringValue.flatMap(ResourceType.init(rawValue:)) }) }
    }
}
