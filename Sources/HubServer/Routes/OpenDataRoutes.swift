import Foundation
import HTTPTypes
import HubAccess
import HubAuditCore
import HubFHIR
public import HubOpenData
import HubOpenDataCore
import HubResourcesCore
public import Hummingbird

/// De-identified open data (docs/open-data.md).
///
/// - `/open/catalog`: public, without credentials — the published releases of public datasets,
///   and each release's JSON and CSV with the hub's detached signature (`Hub-Signature`, or the
///   same path with `.sig`).
/// - `/open/published`: any principal the hub knows — published releases of public and
///   restricted datasets; internal ones to regulators.
/// - `/open/datasets`: regulators of the health commission — define, approve (another
///   regulator), ask for a release, review it, publish it, withdraw the dataset.
public struct OpenDataRoutes: Sendable {
    let store: OpenDatasetStore

    public init(store: OpenDatasetStore) {
        self.store = store
    }

    public func add(to router: Router<HubRequestContext>) {
        self.addCatalog(to: router)
        let published = router.group("open/published").add(middleware: AccessGate.anyPrincipal)
        published.get(":dataset/:file") { _, context in
            context.audit.interaction("open-data", action: .read, type: "OpenDatasetRelease")
            let steward = context.grant?.role == .regulator ? try await self.store.isCommission(context.caller.organization) : false
            return try await self.file(context, allowing: { $0 != .internal || steward })
        }
        // Regulators of an active commission only: the gate on the group, so no route forgets it.
        let stewards = router.group("open/datasets").add(middleware: AccessGate.openDataStewards).add(
            middleware: OpenDataStewardGate(store: self.store))
        stewards.get { _, context in
            context.audit.interaction("open-data", action: .read, type: "OpenDataset")
            return Response.json(try await self.store.datasets())
        }
        stewards.post { request, context in
            context.audit.interaction("open-data", action: .create, type: "OpenDataset")
            let definition = try await Self.decode(request)
            let defined = try await self.store.define(definition, audit: AuditContext(caller: context.caller, interaction: "open-data"))
            context.audit.recordedByStore()
            return Response.json(defined, status: .created)
        }
        stewards.get(":dataset") { _, context in
            context.audit.interaction("open-data", action: .read, type: "OpenDataset")
            let id = context.parameters.get("dataset") ?? ""
            guard let found = try await self.store.dataset(id) else { throw ResourceError(.notFound, .notFound, "no open dataset \(id)") }
            return Response.json(found)
        }
        stewards.post(":dataset/approve") { _, context in
            context.audit.interaction("open-data", action: .update, type: "OpenDataset")
            let approved = try await self.store.approve(
                context.parameters.get("dataset") ?? "", audit: AuditContext(caller: context.caller, interaction: "open-data"))
            context.audit.recordedByStore()
            return Response.json(approved)
        }
        stewards.post(":dataset/releases") { _, context in
            context.audit.interaction("open-data", action: .execute, type: "OpenDataset")
            let requested = try await self.store.requestRelease(
                context.parameters.get("dataset") ?? "", audit: AuditContext(caller: context.caller, interaction: "open-data"))
            context.audit.recordedByStore()
            return Response.json(requested, status: .accepted)
        }
        // A computed release for review, published or not: the JSON only, unsigned until published.
        stewards.get(":dataset/releases/:number") { _, context in
            context.audit.interaction("open-data", action: .read, type: "OpenDatasetRelease")
            let (id, number) = try Self.release(context)
            guard let release = try await self.store.computed(id, release: number) else {
                throw ResourceError(.notFound, .notFound, "no release \(number) of open dataset \(id)")
            }
            return Response(
                status: .ok, headers: [.contentType: HubMediaType.json, .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: release.json())))
        }
        stewards.post(":dataset/releases/:number/publish") { _, context in
            context.audit.interaction("open-data", action: .update, type: "OpenDatasetRelease")
            let (id, number) = try Self.release(context)
            let release = try await self.store.publish(id, release: number, audit: AuditContext(caller: context.caller, interaction: "open-data"))
            context.audit.recordedByStore()
            return Response(
                status: .ok, headers: [.contentType: HubMediaType.json], body: .init(byteBuffer: ByteBuffer(bytes: release.json())))
        }
        stewards.delete(":dataset") { _, context in
            context.audit.interaction("open-data", action: .delete, type: "OpenDataset")
            try await self.store.withdraw(
                context.parameters.get("dataset") ?? "", audit: AuditContext(caller: context.caller, interaction: "open-data"))
            context.audit.recordedByStore()
            return Response(status: .noContent)
        }
    }

    /// The public half: no credentials, nothing audited (nothing in it is about a person), and
    /// only what is published and public.
    func addCatalog(to router: Router<HubRequestContext>) {
        router.get("open/catalog") { _, _ in
            Response.json(OpenCatalog(try await self.store.catalog()), headers: [.cacheControl: "public, max-age=60"])
        }
        router.get("open/catalog/:dataset/:file") { _, context in
            try await self.file(context, allowing: { $0 == .public })
        }
    }

    /// A published release's rendering (or its signature, for a `.sig` name) when `allowed`
    /// says its classification may go to this caller; 404 otherwise, as for one not published.
    func file(_ context: HubRequestContext, allowing allowed: (Classification) -> Bool) async throws -> Response {
        // Ids are stored, signed and listed in lower case; an upper-case spelling finds the same.
        let id = (context.parameters.get("dataset") ?? "").lowercased()
        let name = context.parameters.get("file") ?? ""
        guard let file = ReleaseFileName(name),
            let found = try await self.store.published(id, release: file.number, as: file.rendering), allowed(found.classification)
        else {
            throw ResourceError(.notFound, .notFound, "no published release \(name) of open dataset \(id) here")
        }
        var headers: HTTPFields = [.cacheControl: found.classification == .public ? "public, max-age=300" : "no-store"]
        // What the signature binds besides the bytes: this release of this dataset, its grade.
        let subject = DatasetRelease.subject(dataset: id, number: file.number, classification: found.classification)
        if file.signature {
            // Two lines: the subject, then the signature (what `hubctl open verify` reads).
            headers[.contentType] = "text/plain; charset=utf-8"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: subject + "\n" + found.signature + "\n")))
        }
        headers[Self.subjectHeader] = subject
        headers[.contentType] = file.rendering.mediaType + "; charset=utf-8"
        headers[.contentDisposition] = "attachment; filename=\"\(id)-\(file.number).\(file.rendering.rawValue)\""
        headers[HTTPField.Name(RenderedReportSignature.headerName)!] = found.signature
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: found.bytes)))
    }

    /// The header naming what a release's signature binds besides its bytes.
    static let subjectHeader = HTTPField.Name("Hub-Signature-Subject")!

    static func release(_ context: HubRequestContext) throws -> (String, Int) {
        let id = context.parameters.get("dataset") ?? ""
        guard let number = context.parameters.get("number").flatMap(Int.init), number > 0 else {
            throw ResourceError(.notFound, .notFound, "a release is numbered 1, 2, …")
        }
        return (id, number)
    }

    static func decode(_ request: Request) async throws -> DatasetDefinition {
        var request = request
        let body = try await request.collectBody(upTo: 65_536)
        do {
            return try JSONDecoder().decode(DatasetDefinition.self, from: Data(body.readableBytesView))
        } catch {
            throw ResourceError(.invalid, .invalid, "the body is not a dataset definition (docs/open-data.md): \(Self.reason(error))")
        }
    }

    /// Which member a definition got wrong, without echoing its values.
    static func reason(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, _)?: "\(key.stringValue) is missing"
        case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?, .dataCorrupted(let context)?:
            context.codingPath.isEmpty ? "not a JSON object" : "\(context.codingPath.map(\.stringValue).joined(separator: ".")) is not valid"
        default: "not JSON"
        }
    }
}

/// `3.json`, `3.csv`, `3.json.sig`, `3.csv.sig`.
struct ReleaseFileName {
    var number: Int
    var rendering: OpenDatasetStore.Rendering
    var signature: Bool

    init?(_ name: String) {
        var parts = name.split(separator: ".").map(String.init)
        self.signature = parts.last == "sig"
        if self.signature { parts.removeLast() }
        guard parts.count == 2, let number = Int(parts[0]), number > 0, let rendering = OpenDatasetStore.Rendering(rawValue: parts[1]) else {
            return nil
        }
        self.number = number
        self.rendering = rendering
    }
}

/// The public catalog: datasets with their published releases and where to get each rendering
/// and its signature (DCAT's dataset and distribution, in plain JSON).
struct OpenCatalog: Encodable {
    struct Entry: Encodable {
        var id: String
        var title: String
        var description: String
        var classification: Classification
        var subject: DatasetDefinition.Subject
        var form: DatasetDefinition.Form
        var dimensions: [HubOpenDataCore.Dimension]
        var releases: [Release]
    }

    struct Release: Encodable {
        var number: Int
        var recordsAsOf: String
        var publishedAt: String?
        var k: Int
        var epsilon: Double?
        var distributions: [Distribution]
    }

    struct Distribution: Encodable {
        var mediaType: String
        var url: String
        var signature: String
    }

    var datasets: [Entry]
    /// Where the keys that verify the signatures are published.
    var keys = "/.well-known/hub-keys"

    init(_ releases: [DatasetRelease]) {
        var entries: [Entry] = []
        var positions: [String: Int] = [:]
        for release in releases {
            let distributions = OpenDatasetStore.Rendering.allCases.map { rendering in
                let url = "/open/catalog/\(release.dataset)/\(release.number).\(rendering.rawValue)"
                return Distribution(mediaType: rendering.mediaType, url: url, signature: url + ".sig")
            }
            let entry = Release(
                number: release.number, recordsAsOf: release.recordsAsOf, publishedAt: release.publishedAt, k: release.protection.k,
                epsilon: release.protection.epsilon, distributions: distributions)
            if let position = positions[release.dataset] {
                entries[position].releases.append(entry)
            } else {
                positions[release.dataset] = entries.count
                entries.append(
                    Entry(
                        id: release.dataset, title: release.title, description: release.description, classification: release.classification,
                        subject: release.definition.subject, form: release.definition.form, dimensions: release.definition.dimensions,
                        releases: [entry]))
            }
        }
        self.datasets = entries
    }
}

/// Lets through only callers of an active health commission (the regulators' organization):
/// a regulator registered elsewhere, or of a deactivated commission, is refused (403).
struct OpenDataStewardGate: RouterMiddleware {
    typealias Context = HubRequestContext
    let store: OpenDatasetStore

    func handle(_ request: Request, context: HubRequestContext, next: (Request, HubRequestContext) async throws -> Response) async throws -> Response
    {
        guard try await self.store.isCommission(context.caller.organization) else {
            throw ResourceError(.forbidden, .forbidden, "open datasets are managed by the regulators of an active health commission")
        }
        return try await next(request, context)
    }
}
