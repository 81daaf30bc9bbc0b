import HubOpenDataCore
import Testing

@Suite struct DatasetDefinitionTests {
    func definition(
        subject: DatasetDefinition.Subject = .observations, form: DatasetDefinition.Form = .aggregate,
        dimensions: [Dimension] = [.ageBand, .sex, .labTest]
    ) -> DatasetDefinition {
        DatasetDefinition(title: "检验结果统计", description: "", classification: .public, subject: subject, form: form, dimensions: dimensions)
    }

    @Test func defaultsAreFilledIn() throws {
        let checked = try self.definition().validated(minimumK: 10)
        #expect(checked.k == 10 && checked.epsilon == nil && checked.contributionBound == nil)
        var noisy = self.definition()
        noisy.epsilon = 1
        #expect(try noisy.validated(minimumK: 10).contributionBound == 1)
    }

    @Test func refusals() {
        var cases: [(DatasetDefinition, String)] = []
        var d = self.definition()
        d.title = ""
        cases.append((d, "title"))
        cases.append((self.definition(dimensions: []), "dimensions"))
        cases.append((self.definition(dimensions: [.sex, .sex]), "once"))
        cases.append((self.definition(subject: .patients, dimensions: [.labTest]), "does not describe"))
        cases.append((self.definition(subject: .conditions, dimensions: [.labTest]), "does not describe"))
        cases.append((self.definition(form: .extract, dimensions: [.labTest]), "at least one"))
        d = self.definition()
        d.k = 3
        cases.append((d, "k is 10"))
        d = self.definition()
        d.from = "2026-13"
        cases.append((d, "not a month"))
        d = self.definition()
        d.from = "2026-+1"
        cases.append((d, "not a month"))
        d = self.definition()
        d.from = "2026-05"
        d.to = "2026-01"
        cases.append((d, "not after"))
        d = self.definition(subject: .patients, dimensions: [.sex])
        d.from = "2026-01"
        cases.append((d, "not patients"))
        d = self.definition(form: .extract)
        d.epsilon = 1
        cases.append((d, "aggregates only"))
        d = self.definition()
        d.epsilon = 0
        cases.append((d, "0.01"))
        d = self.definition()
        d.epsilon = .infinity
        cases.append((d, "0.01"))
        d = self.definition()
        d.contributionBound = 2
        cases.append((d, "goes with epsilon"))
        for (definition, expected) in cases {
            #expect(throws: DatasetDefinitionError.self, "\(expected)") { try definition.validated(minimumK: 10) }
            do {
                _ = try definition.validated(minimumK: 10)
            } catch {
                #expect(error.description.contains(expected), "\(error.description)")
            }
        }
    }

    @Test func periods() throws {
        var d = self.definition()
        d.from = "2026-01"
        d.to = "2026-06"
        let checked = try d.validated(minimumK: 10)
        #expect(checked.includes(month: "2026-01") && checked.includes(month: "2026-06"))
        #expect(!checked.includes(month: "2025-12") && !checked.includes(month: "2026-07"))
    }
}
