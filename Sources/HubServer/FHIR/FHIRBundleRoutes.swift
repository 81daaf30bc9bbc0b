import HubAudit
import HubFHIR
public import HubResources
public import Hummingbird

/// `POST /fhir`: batch and transaction Bundles.
public struct FHIRBundleRoutes: Sendable {
    let processor: BundleProcessor

    public init(processor: BundleProcessor) {
        self.processor = processor
    }

    public func add(to router: Router<HubRequestContext>) {
        router.group("fhir").add(middleware: AccessGate.clinical).post { request, context in
            let format = try FHIRFormat(request: request)
            let body = try await FHIRFormat.body(of: request)
            context.audit.interaction(body.objectValue?["type"]?.stringValue == "batch" ? "batch" : "transaction", action: .execute)
            let outcome = try await self.processor.process(
                body, base: FHIRResourceRoutes.base(request), caller: context.caller, access: try context.recordAccess(nil))
            // The writes were recorded with their transactions; what GET entries read, and the
            // patients of refused entries, are recorded here — and a Bundle that wrote nothing
            // is recorded like any request.
            if outcome.written > 0 { context.audit.recordedByStore() }
            context.audit.returned(outcome.read)
            return format.response(.object(outcome.response))
        }
    }
}
