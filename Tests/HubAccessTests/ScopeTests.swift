import HubAccess
import HubFHIR
import Testing

@Suite struct ScopeTests {
    @Test(
        arguments: [
            ("system/Observation.read", true, false, "Observation"),
            ("user/*.write", false, true, nil),
            ("system/*.*", true, true, nil),
            ("user/Patient.rs", true, false, "Patient"),
            ("system/Observation.cud", false, true, "Observation"),
            ("user/Patient.cruds", true, true, "Patient"),
        ] as [(String, Bool, Bool, String?)])
    func parsesSMARTScopes(text: String, read: Bool, write: Bool, type: String?) throws {
        let scope = try #require(Scope(text))
        #expect(scope.read == read)
        #expect(scope.write == write)
        #expect(scope.type?.rawValue == type)
    }

    @Test(arguments: ["patient/Observation.read", "system/Unicorn.read", "system/Observation", "user/*.sr", "user/*.", "openid", "system/*.crudsx"])
    func refusesWhatItDoesNotGrant(text: String) {
        #expect(Scope(text) == nil)
    }

    @Test func typesOfAScopeSet() throws {
        let scopes = ["user/Patient.read", "user/Observation.*", "user/Encounter.write"].compactMap(Scope.init)
        #expect(Scope.types(scopes, write: false) == [.patient, .observation])
        #expect(Scope.types(scopes, write: true) == [.observation, .encounter])
        #expect(Scope.types(["system/*.read"].compactMap(Scope.init), write: false) == nil)
        #expect(Scope.types(["system/*.read"].compactMap(Scope.init), write: true) == [])
    }
}

@Suite struct ScopeCoverageTests {
    @Test func aTokenMayBeNarrowerThanItsPrincipal() throws {
        let all = try #require(Scope("user/*.*"))
        #expect(all.covers(try #require(Scope("user/Patient.read"))))
        #expect(all.covers(try #require(Scope("user/Observation.cud"))))
        #expect(!all.covers(try #require(Scope("system/Patient.read"))))
        let readPatients = try #require(Scope("user/Patient.read"))
        #expect(!readPatients.covers(try #require(Scope("user/Patient.write"))))
        #expect(!readPatients.covers(try #require(Scope("user/*.read"))))
    }
}
