/// How large a request's head may be, and what is answered beyond it.
///
/// Two tiers, so that the common refusals are FHIR answers with the exact status: the HTTP
/// parser admits heads up to ``parserBytes``, and ``RequestHeadLimitMiddleware`` refuses a target
/// URI over ``uriBytes`` (414) or header fields over ``headerBytes`` (431) as an
/// OperationOutcome. Only a head beyond the parser's limit, which no client of the hub sends, is
/// answered by ``UnparsableRequestResponder`` without reaching the router.
public enum RequestHeadLimits {
    /// The longest target URI (path and query). A search longer than this belongs in
    /// `POST _search`, whose form body has the body limit.
    public static let uriBytes = 32 * 1024
    /// The largest header section (names and values).
    public static let headerBytes = 64 * 1024
    /// What the HTTP parser admits: the request line and header fields together. Every
    /// connection may buffer this much while a head arrives.
    public static let parserBytes = 256 * 1024
    /// The most header fields the HTTP parser admits (Hummingbird's default).
    public static let headerFieldCount = 1000
}
