import Foundation
import HubFHIR
import HubResourcesCore
import HubTestSupport
import Testing

/// The hub's validator against an independent R4 implementation (Python fhir.resources 6.4):
/// every variant of the fixtures that fhir.resources rejects, the hub must reject too. (The hub
/// is stricter — fhir.resources coerces `"yes"` to a boolean and does not check value sets — so
/// the converse does not hold and is not asked.)
@Suite struct StructureCrossCheckTests {
    /// Each fixture with one element deleted, or replaced by a value of another JSON kind, or
    /// wrapped in / unwrapped from an array.
    static func variants(of json: String) throws -> [JSONObject] {
        let object = try #require(try JSONParser.parse(Array(json.utf8)).objectValue)
        var variants: [JSONObject] = []
        func mutate(_ value: JSONValue, _ replace: (JSONValue?) -> Void) {
            replace(nil)
            for other: JSONValue in [.string("x"), .number("1"), .bool(true), .object(JSONObject([("a", .string("b"))]))] {
                replace(other)
            }
            if let values = value.arrayValue { replace(values[0]) } else { replace(.array([value])) }
        }
        func walk(_ current: JSONObject, _ rebuild: (JSONObject) -> JSONObject) {
            for member in current.members where member.key != "resourceType" {
                mutate(member.value) { replacement in
                    var copy = current
                    copy[member.key] = replacement
                    if !copy.isEmpty { variants.append(rebuild(copy)) }
                }
                let children: [(JSONObject, (JSONObject) -> JSONValue)]
                switch member.value {
                case .object(let child): children = [(child, { .object($0) })]
                case .array(let items):
                    children = items.enumerated().compactMap { index, item in
                        item.objectValue.map { child in
                            (
                                child,
                                { replaced in
                                    var copy = items
                                    copy[index] = .object(replaced)
                                    return .array(copy)
                                }
                            )
                        }
                    }
                default: children = []
                }
                for (child, wrap) in children {
                    walk(child) { replaced in
                        var copy = current
                        copy[member.key] = wrap(replaced)
                        return rebuild(copy)
                    }
                }
            }
        }
        walk(object) { $0 }
        return variants
    }

    @Test func whatFHIRResourcesRejectsTheHubRejects() async throws {
        let validator = try ResourceValidator.load(profilesDirectory: TestEnvironment.repositoryRoot() + "/profiles/fhir")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("structure-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var documents: [String: JSONObject] = [:]
        for (index, fixture) in StructureFixtures.minimal.enumerated() {
            for (variantIndex, variant) in try Self.variants(of: fixture).enumerated() {
                let path = "\(folder)/\(index)-\(variantIndex).json"
                try Data(JSONValue.object(variant).serialized()).write(to: URL(fileURLWithPath: path))
                documents[path] = variant
            }
        }
        #expect(documents.count > 300)
        let output = try await TestPeer.run("fhir_validate.py", documents.keys.sorted())
        let rejectedByPeer = Set(
            output.standardOutput.split(separator: "\n").compactMap { line in
                line.split(separator: ":", maxSplits: 1).first.map(String.init)
            })
        #expect(rejectedByPeer.count > 50, "the peer should reject a good share of the variants")
        var hubRejected = 0
        for (path, document) in documents.sorted(by: { $0.key < $1.key }) {
            let type = document["resourceType"]?.stringValue.flatMap(ResourceType.init(rawValue:)) ?? .patient
            let accepted = (try? validator.validate(.object(document), as: type, expectedID: nil)) != nil
            if !accepted { hubRejected += 1 }
            if rejectedByPeer.contains(path) {
                #expect(
                    !accepted,
                    "fhir.resources rejects but the hub accepts: \(String(decoding: JSONValue.object(document).serialized(), as: UTF8.self))")
            }
        }
        #expect(hubRejected >= rejectedByPeer.count)
    }
}
