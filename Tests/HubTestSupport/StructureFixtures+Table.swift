import Foundation
public import HubFHIR

extension StructureFixtures {
    /// R4's element tables as the hub loads them (`profiles/fhir/r4-structure.json`).
    public static let table: StructureTable = {
        do {
            return try StructureTable(contentsOf: URL(fileURLWithPath: try TestEnvironment.repositoryRoot() + "/profiles/fhir/r4-structure.json"))
        } catch {
            preconditionFailure("the structure table must load: \(error)")
        }
    }()
}
