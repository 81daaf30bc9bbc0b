/// Why bytes were not accepted as an XML document, saying where when libxml2 knows.
public struct XMLParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Not well-formed XML (line and column of the first error, as libxml2 reports it).
        case notWellFormed(line: Int, column: Int)
        /// A document type declaration: refused, so that no entity is ever expanded or fetched.
        case documentTypeDeclaration
        /// Beyond what the reader admits (``XMLTree/maximumAttributesPerElement``).
        case limit
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String {
        switch self.kind {
        case .notWellFormed(let line, let column): "not well-formed XML at line \(line), column \(column): \(self.message)"
        case .documentTypeDeclaration, .limit: self.message
        }
    }
}
