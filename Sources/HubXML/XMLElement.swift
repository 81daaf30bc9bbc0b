/// An XML element as a value: what a reader walks once libxml2 has parsed and let go of a
/// document. Comments and processing instructions are not kept; CDATA is text.
public struct XMLElement: Sendable, Equatable {
    public struct Attribute: Sendable, Equatable {
        /// The attribute's namespace URI (`xml:lang` has the XML namespace); nil for most.
        public var namespace: String?
        public var name: String
        public var value: String

        public init(namespace: String? = nil, name: String, value: String) {
            self.namespace = namespace
            self.name = name
            self.value = value
        }
    }

    public enum Node: Sendable, Equatable {
        case element(XMLElement)
        case text(String)
    }

    public var namespace: String?
    public var name: String
    public var attributes: [Attribute]
    public var children: [Node]
    /// Where the element starts in its document, for error messages (0 when built in code).
    public var line: Int

    public init(namespace: String?, name: String, attributes: [Attribute] = [], children: [Node] = [], line: Int = 0) {
        self.namespace = namespace
        self.name = name
        self.attributes = attributes
        self.children = children
        self.line = line
    }

    /// The child elements, in document order.
    public var elements: [XMLElement] {
        self.children.compactMap {
            if case .element(let element) = $0 { return element }
            return nil
        }
    }

    /// The value of the attribute `name` in no namespace.
    public func attribute(_ name: String) -> String? {
        self.attributes.first { $0.namespace == nil && $0.name == name }?.value
    }

    /// The element's own text (not its descendants'), joined.
    public var text: String {
        self.children.reduce(into: "") { text, node in
            if case .text(let part) = node { text += part }
        }
    }
}
