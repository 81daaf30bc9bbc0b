import Foundation
import HubAccess
import Hummingbird

/// What the Bulk Data operations ($export, $import) ask of every request alike: an
/// asynchronous kick-off, and a job named in the path that is only ever its own client's.
enum BulkDataJobRequest {
    /// Refuses a kick-off without `Prefer: respond-async` (400).
    static func requireAsync(_ request: Request, operation: String) throws {
        let prefer = request.headers[values: .prefer].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        guard prefer.contains("respond-async") else {
            throw APIError.badRequest("\(operation) runs asynchronously: send Prefer: respond-async")
        }
    }

    /// The job the path names (lower-cased) and the grant asking: a hospital system's, or
    /// `noSuchJob` — to any other caller a job does not exist.
    static func jobAndGrant(_ context: HubRequestContext, noSuchJob: APIError) throws -> (String, AccessGrant) {
        guard let grant = context.grant, grant.role == .system, grant.user == nil else { throw noSuchJob }
        guard let id = context.parameters.get("job") else { throw noSuchJob }
        return (id.lowercased(), grant)
    }
}
