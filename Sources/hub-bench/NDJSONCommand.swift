import ArgumentParser
import Foundation
import HubFHIR
import HubSynthetic

/// Writes a source system's records as Bulk Data NDJSON for `$import` (ops/bench/fhir): synthetic
/// patients with the source's ids (`src-<n>`), each with an Encounter and lab Observations that
/// reference them, in pieces small enough to stage one per request.
struct NDJSONCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ndjson", abstract: "Write synthetic NDJSON for a bulk import.")

    @Option(help: "Directory to write the pieces to.") var directory: String
    @Option(help: "Patients.") var patients = 2_000
    @Option(help: "Number of the first patient (resident IDs follow from it: keep clear of those already in the hub).") var first = 1_000_000
    @Option(help: "Observations per patient.") var observations = 4
    @Option(help: "Largest piece in bytes (stay under the hub's server.max_body_bytes).") var pieceBytes = 6_000_000
    @Option(help: "Seed of the generator.") var seed: UInt64 = 2027

    func run() throws {
        try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
        var generator = SyntheticPatients(seed: self.seed)
        var pieces: [String: (number: Int, bytes: [UInt8])] = [:]
        var written: [String] = []
        func add(_ type: String, _ json: String, id: String) throws {
            guard var object = try JSONParser.parse(Array(json.utf8)).objectValue else { return }
            object["id"] = .string(id)
            let line = JSONValue.object(object).serialized() + [UInt8(ascii: "\n")]
            var piece = pieces[type] ?? (1, [])
            if piece.bytes.count + line.count > self.pieceBytes {
                written.append(try self.flush(type, piece))
                piece = (piece.number + 1, [])
            }
            piece.bytes += line
            pieces[type] = piece
        }
        for number in self.first..<(self.first + self.patients) {
            let person = generator.person(number: number)
            try add("Patient", generator.patientJSON(person, home: true), id: "src-\(number)")
            let day = generator.recentDay()
            try add("Encounter", generator.encounterJSON(patient: "Patient/src-\(number)", day: day), id: "enc-\(number)")
            for offset in 0..<self.observations {
                let test = LabTest.common[(number + offset) % LabTest.common.count]
                let json = generator.observationJSON(test: test, patient: "Patient/src-\(number)", encounter: "Encounter/enc-\(number)", day: day)
                try add("Observation", json, id: "obs-\(number)-\(offset)")
            }
        }
        for (type, piece) in pieces.sorted(by: { $0.key < $1.key }) where !piece.bytes.isEmpty { written.append(try self.flush(type, piece)) }
        // One line per piece: TYPE=PATH, as the import client takes them.
        print(written.sorted().joined(separator: "\n"))
    }

    func flush(_ type: String, _ piece: (number: Int, bytes: [UInt8])) throws -> String {
        let path = "\(self.directory)/\(type)-\(piece.number).ndjson"
        try Data(piece.bytes).write(to: URL(fileURLWithPath: path))
        return "\(type)=\(path)"
    }
}
