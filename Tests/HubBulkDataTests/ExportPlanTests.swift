import Foundation
import HubBulkDataCore
import HubFHIR
import Testing

/// The export's walk over types, pages and files, without a database: every resource read once,
/// in order, no file over its bound, and a resumed cursor going on exactly where it stopped.
@Suite struct ExportPlanTests {
    /// Simulates a job over `counts` resources per type, stopping and resuming at every page.
    func walk(_ plan: ExportPlan, counts: [ResourceType: Int]) -> [String: [String]] {
        var files: [String: [String]] = [:]
        var cursor = ExportPlan.Cursor.start
        var steps = 0
        while case .read(let type, let afterID, let count, let file, let part) = plan.step(at: cursor), steps < 10_000 {
            steps += 1
            let all = (0..<(counts[type] ?? 0)).map { String(format: "%06d", $0) }
            let page = Array(all.filter { afterID == nil || $0 > afterID! }.prefix(count))
            #expect(part >= 1)
            if !page.isEmpty { files["\(type.rawValue)-\(file)", default: []] += page }
            cursor = plan.advance(cursor, read: page.count, lastID: page.last)
        }
        return files
    }

    @Test func everyResourceOnceInOrderWithinFileBounds() {
        let plan = ExportPlan(types: [.patient, .observation, .condition], pageSize: 3, fileSize: 7)
        let files = self.walk(plan, counts: [.patient: 7, .observation: 16, .condition: 0])
        #expect(files.keys.sorted() == ["Observation-1", "Observation-2", "Observation-3", "Patient-1"])
        #expect(files["Patient-1"]?.count == 7)
        #expect(files["Observation-1"]?.count == 7 && files["Observation-2"]?.count == 7 && files["Observation-3"]?.count == 2)
        let observations = (files["Observation-1"] ?? []) + (files["Observation-2"] ?? []) + (files["Observation-3"] ?? [])
        #expect(observations == (0..<16).map { String(format: "%06d", $0) })
        #expect(files.values.allSatisfy { $0.count <= 7 })
    }

    @Test func aShortPageEndsItsTypeAndTheLastTypeFinishes() {
        let plan = ExportPlan(types: [.patient], pageSize: 10, fileSize: 100)
        let after = plan.advance(.start, read: 4, lastID: "x")
        #expect(after == ExportPlan.Cursor(typeIndex: 1, afterID: nil, file: 1, inFile: 0, part: 1))
        #expect(plan.step(at: after) == .finished)
        #expect(plan.step(at: ExportPlan.Cursor(typeIndex: -1, afterID: nil, file: 1, inFile: 0, part: 1)) == .finished)
    }

    @Test func aPageNeverCrossesAFileBound() {
        let plan = ExportPlan(types: [.observation], pageSize: 1_000, fileSize: 2_500)
        var cursor = ExportPlan.Cursor.start
        var counts: [Int] = []
        for n in 0..<4 {
            guard case .read(_, _, let count, _, _) = plan.step(at: cursor) else { break }
            counts.append(count)
            cursor = plan.advance(cursor, read: count, lastID: "id\(n)")
        }
        #expect(counts == [1_000, 1_000, 500, 1_000])
        #expect(cursor.file == 2 && cursor.part == 2)
    }
}
