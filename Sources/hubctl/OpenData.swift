import ArgumentParser
import Foundation
import HubClient
import HubCrypto
import HubOpenDataCore

/// `hubctl open …`: de-identified open datasets (docs/open-data.md). A regulator defines one,
/// another approves it, the hub computes its release, a regulator reviews and publishes it;
/// anyone downloads a public release and verifies it offline.
struct OpenData: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open",
        abstract: "De-identified open datasets: define, approve, review, publish, download and verify releases.",
        subcommands: [
            List.self, Define.self, Approve.self, Release.self, Review.self, Publish.self, Withdraw.self, Catalog.self, Download.self, Verify.self,
        ]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every dataset, its state and its releases (regulators).")
        @OptionGroup var server: ServerOptions
        @Flag(name: .long, help: "Print JSON.") var json = false

        func run() async throws {
            let reply = try await OpenData.call(self.server, "GET", "/open/datasets")
            let datasets = (try? JSONSerialization.jsonObject(with: Data(reply.body))) as? [[String: Any]] ?? []
            if self.json {
                print(String(decoding: reply.body, as: UTF8.self))
                return
            }
            var table = Table(headers: ["ID", "标题 Title", "分级 Class", "状态 State", "发布 Releases"])
            for dataset in datasets {
                let definition = dataset["definition"] as? [String: Any] ?? [:]
                let releases = (dataset["releases"] as? [[String: Any]] ?? []).map { release in
                    "\(release["number"] ?? "")\(release["publishedAt"] == nil ? " (unpublished)" : "")"
                }
                table.rows.append([
                    dataset["id"] as? String ?? "", definition["title"] as? String ?? "", definition["classification"] as? String ?? "",
                    (dataset["state"] as? String ?? "") + ((dataset["releasePending"] as? Bool) == true ? ", computing" : ""),
                    releases.joined(separator: ", "),
                ])
            }
            print(table.render())
        }
    }

    struct Define: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Define a dataset from a JSON definition (a regulator; another must approve it).",
            discussion:
                #"Example: {"title":"高血压患者数, 按年龄段和区","description":"…","classification":"public","subject":"conditions","form":"aggregate","dimensions":["age-band","sex","district","diagnosis-chapter"],"from":"2026-01","to":"2026-06"}"#
        )
        @OptionGroup var server: ServerOptions
        @Argument(help: "The definition (JSON file).") var file: String

        func run() async throws {
            let body = Array(try OpenData.read(self.file))
            let reply = try await OpenData.call(self.server, "POST", "/open/datasets", body: body)
            let dataset = (try? JSONSerialization.jsonObject(with: Data(reply.body))) as? [String: Any] ?? [:]
            print("defined \(dataset["id"] as? String ?? ""): another regulator approves it with `hubctl open approve`")
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approve a dataset another regulator defined; its first release is computed.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "The dataset's id.") var dataset: String

        func run() async throws {
            _ = try await OpenData.call(self.server, "POST", "/open/datasets/\(HubCall.query(self.dataset))/approve")
            print("approved: the hub computes its release; review it with `hubctl open review`")
        }
    }

    struct Release: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Ask for a new release of an approved dataset (from the records as they stand).")
        @OptionGroup var server: ServerOptions
        @Argument(help: "The dataset's id.") var dataset: String

        func run() async throws {
            _ = try await OpenData.call(self.server, "POST", "/open/datasets/\(HubCall.query(self.dataset))/releases")
            print("asked: the hub computes it; `hubctl open list` shows it when done")
        }
    }

    struct Review: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a computed release before publishing it (regulators).")
        @OptionGroup var server: ServerOptions
        @Argument(help: "The dataset's id.") var dataset: String
        @Argument(help: "The release's number.") var number: Int
        @Flag(name: .long, help: "Print the release's JSON.") var json = false

        func run() async throws {
            let reply = try await OpenData.call(self.server, "GET", "/open/datasets/\(HubCall.query(self.dataset))/releases/\(self.number)")
            if self.json {
                print(String(decoding: reply.body, as: UTF8.self))
                return
            }
            let release = try JSONDecoder().decode(DatasetRelease.self, from: Data(reply.body))
            let protection = release.protection
            print("\(release.title) — release \(release.number), records as of \(release.recordsAsOf)")
            print(
                "k = \(protection.k); generalized: \(protection.generalization.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))"
                    + (protection.epsilon.map { "; ε = \($0), noise scale \(protection.noiseScale ?? 0)" } ?? "")
                    + (protection.suppressedCells.map { "; \($0) cells suppressed" } ?? "")
                    + (protection.suppressedRows.map { "; \($0) rows suppressed" } ?? ""))
            var table = Table(headers: release.columns)
            table.rows = release.rows.map { $0.map { $0 ?? "<\(protection.k)" } }
            print(table.render())
        }
    }

    struct Publish: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Publish a reviewed release: signed, and served as its classification allows.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "The dataset's id.") var dataset: String
        @Argument(help: "The release's number.") var number: Int

        func run() async throws {
            _ = try await OpenData.call(self.server, "POST", "/open/datasets/\(HubCall.query(self.dataset))/releases/\(self.number)/publish")
            print("published release \(self.number)")
        }
    }

    struct Withdraw: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Withdraw a dataset: out of the catalog, its releases no longer served.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "The dataset's id.") var dataset: String

        func run() async throws {
            _ = try await OpenData.call(self.server, "DELETE", "/open/datasets/\(HubCall.query(self.dataset))")
            print("withdrawn")
        }
    }

    struct Catalog: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the public catalog (no credentials needed).")
        @OptionGroup var server: ServerOptions

        func run() async throws {
            let reply = try await OpenData.call(self.server, "GET", "/open/catalog")
            print(String(decoding: reply.body, as: UTF8.self))
        }
    }

    struct Download: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Save a published release and its signature (FILE and FILE.sig); verify them with `hubctl open verify`.")
        @OptionGroup var server: ServerOptions
        @Argument(help: "The dataset's id.") var dataset: String
        @Argument(help: "The release's number.") var number: Int
        @Option(help: "json or csv.") var format = "csv"
        @Option(name: [.short, .long], help: "File to write (its signature goes to FILE.sig).") var output: String
        @Flag(name: .long, help: "A restricted or internal release, over the authenticated API (default: the public catalog).")
        var restricted = false

        func run() async throws {
            guard ["json", "csv"].contains(self.format) else { throw ValidationError("--format is json or csv") }
            let base = self.restricted ? "/open/published" : "/open/catalog"
            let path = "\(base)/\(HubCall.query(self.dataset))/\(self.number).\(self.format)"
            let reply = try await OpenData.call(self.server, "GET", path)
            guard let signature = reply.header("hub-signature"), let subject = reply.header("hub-signature-subject") else {
                throw CLIFailure(message: "the hub sent no signature").exit()
            }
            try Audit.write(reply.body, to: self.output)
            try Audit.write(Array((subject + "\n" + signature + "\n").utf8), to: self.output + ".sig")
            FileHandle.standardError.write(Data("written \(self.output) and \(self.output).sig\n".utf8))
        }
    }

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a downloaded release (.json or .csv) offline against the hub's published keys.",
            discussion:
                "Exit 0 when the file is exactly as the hub signed it — as the dataset, release and grade the verdict names — 1 otherwise (with the reason)."
        )
        @Argument(help: "The release file.") var file: String
        @Option(name: .long, help: "Its signature (default: the file's path + .sig).") var signature: String?
        @Option(name: .long, help: "The hub's published keys, as saved by `hubctl audit keys`.") var keys: String
        @Option(name: .long, help: "Refuse unless the hub signed it as this dataset's release.") var dataset: String?
        @Option(name: .long, help: "Refuse unless the hub signed it as this release number.") var release: Int?
        @Option(name: .long, help: "Refuse unless the hub signed it as of this grade (public, restricted, internal).")
        var classification: String?

        /// Each `name=value` the signed subject holds.
        static func fields(_ subject: String) -> [String: String] {
            var fields: [String: String] = [:]
            for part in subject.split(separator: ";") {
                let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1).map(String.init)
                if pair.count == 2 { fields[pair[0]] = pair[1] }
            }
            return fields
        }

        func run() throws {
            let mediaType: String
            switch (self.file as NSString).pathExtension.lowercased() {
            case "json": mediaType = "application/json"
            case "csv": mediaType = "text/csv"
            default: throw ValidationError("a release is a .json or .csv file")
            }
            do {
                let document = try JSONDecoder().decode(PublishedKeysDocument.self, from: try Audit.read(self.keys))
                let bytes = Array(try Audit.read(self.file))
                // Two lines: what the signature binds besides the bytes (dataset, release, grade), then
                // the signature itself.
                let lines = String(decoding: try Audit.read(self.signature ?? self.file + ".sig"), as: UTF8.self)
                    .split(whereSeparator: \.isNewline).map(String.init)
                guard lines.count == 2 else { throw CLIFailure(message: "the signature file is not the two lines the hub serves") }
                let key = try DatasetRelease.signature.verify(
                    bytes, mediaType: DatasetRelease.signedMediaType(mediaType, subject: lines[0]), signature: lines[1],
                    keys: try document.verifyingKeys(registry: .standard()))
                let fields = Self.fields(lines[0])
                for (name, expected) in [
                    ("dataset", self.dataset?.lowercased()), ("release", self.release.map(String.init)), ("classification", self.classification),
                ] {
                    if let expected, fields[name] != expected {
                        throw CLIFailure(message: "the hub signed it as \(name) \(fields[name] ?? "none"), not \(expected)")
                    }
                }
                print("verified: the \(mediaType) release is exactly as the hub signed it, as \(lines[0]) (key \(key))")
            } catch let error as DetachedSignatureError {
                throw CLIFailure(message: "NOT verified: \(error.description)").exit()
            } catch let error as CLIFailure {
                throw CLIFailure(message: "NOT verified: \(error.message)").exit()
            }
        }
    }

    static func call(_ options: ServerOptions, _ method: String, _ path: String, body: [UInt8]? = nil) async throws -> HubClient.Reply {
        try await HubCall.run(options) { call in
            try await call.send(method, path, headers: body == nil ? [] : [("Content-Type", "application/json")], body: body)
        }
    }

    static func read(_ path: String) throws -> Data {
        try Audit.read(path)
    }
}
