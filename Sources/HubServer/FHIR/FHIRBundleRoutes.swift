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
        router.group("fhir").add(middleware: ClientCertificateGate()).post { request, _ in
            let format = try FHIRFormat(request: request)
            let body = try await FHIRFormat.body(of: request)
            let response = try await self.processor.process(body, base: FHIRResourceRoutes.base(request))
            return format.response(.object(response))
        }
    }
}
