import HubFHIR
import Testing

@testable import HubResourcesCore

/// One error table (issue #17): each code carries its HTTP status, and REST and Bundle entries
/// answer alike — a Bundle entry refused for scope is 403, as the REST interaction is.
@Suite struct ResourceErrorTests {
    @Test(arguments: [
        (ResourceError.Code.invalid, "400 Bad Request"), (.unprocessable, "422 Unprocessable Entity"), (.notFound, "404 Not Found"),
        (.gone, "410 Gone"), (.conflict, "409 Conflict"), (.preconditionFailed, "412 Precondition Failed"), (.forbidden, "403 Forbidden"),
        (.methodNotAllowed, "405 Method Not Allowed"),
    ])
    func everyCodeHasItsStatus(code: ResourceError.Code, line: String) {
        #expect(code.statusLine == line)
        #expect(String(code.httpStatus) == String(line.prefix(3)))
        let entry = BundleProcessor.errorEntry(ResourceError(code, .processing, "x"))
        #expect(entry.objectValue?["response"]?.objectValue?["status"]?.stringValue == line)
    }
}
