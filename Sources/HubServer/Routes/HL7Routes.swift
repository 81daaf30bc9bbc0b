import HubAccess
import HubAudit
import HubFHIR
import HubHL7
import HubResources
public import HubWorkflows
public import Hummingbird

/// `POST /hl7v2`: HL7 v2 ORU^R01 lab results over HTTPS (`Content-Type: x-application/hl7-v2+er7`),
/// answered with the ACK in the same encoding — 200 whatever the ACK says, as HL7 over HTTP does.
/// For hospital systems that may write Observations and DiagnosticReports.
public struct HL7Routes: Sendable {
    let intake: LabResultIntake

    public init(intake: LabResultIntake) {
        self.intake = intake
    }

    static let mediaType = "x-application/hl7-v2+er7"

    public func add(to router: Router<HubRequestContext>) {
        router.group("hl7v2").add(middleware: AccessGate.clinical).post { request, context in
            context.audit.interaction("hl7v2", action: .create, type: "DiagnosticReport")
            guard request.headers[.contentType]?.lowercased().hasPrefix(Self.mediaType) == true else {
                throw APIError(.unsupportedMediaType, code: .notSupported, diagnostics: "POST /hl7v2 takes \(Self.mediaType)")
            }
            let access = try context.recordAccess(.diagnosticReport, write: true)
            try access.require(.observation, write: true)
            var request = request
            let body = try await request.collectBody(upTo: HL7Message.maximumBytes)
            let outcome = try await self.intake.receive(
                Array(body.readableBytesView),
                access: access,
                audit: AuditContext(caller: context.caller, interaction: "hl7v2")
            )
            // An AE or AR travels in a 200 (the ACK is the answer); the trail records the refusal
            // all the same, in the terms MLLP uses for the same message.
            if outcome.code == .accepted { context.audit.recordedByStore() } else { context.audit.failed(outcome.issue ?? .processing) }
            return Response(
                status: .ok,
                headers: [.contentType: Self.mediaType],
                body: .init(byteBuffer: .init(bytes: outcome.acknowledgementBytes))
            )
        }
    }
}
