/// Writes XML text: elements opened and closed in order, names as given, every attribute value
/// and text escaped, so that what the hub writes is well-formed whatever the values hold.
///
/// Tab, CR and LF in attribute values are written as character references: a parser would
/// otherwise normalise them to spaces, and FHIR strings keep them.
public struct XMLWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    private var indent: Bool
    private var depth = 0
    /// Whether the element last opened has no children yet (its start tag is still open).
    private var startTagOpen = false
    private var openNames: [String] = []

    public init(pretty: Bool = false, declaration: Bool = true) {
        self.indent = pretty
        if declaration { self.bytes.append(contentsOf: Array("<?xml version=\"1.0\" encoding=\"UTF-8\"?>".utf8)) }
        if declaration, pretty { self.bytes.append(UInt8(ascii: "\n")) }
    }

    public mutating func open(_ name: String, attributes: [(String, String)] = []) {
        self.closeStartTag()
        self.newline()
        self.bytes.append(UInt8(ascii: "<"))
        self.bytes.append(contentsOf: Array(name.utf8))
        for (attribute, value) in attributes {
            self.bytes.append(UInt8(ascii: " "))
            self.bytes.append(contentsOf: Array(attribute.utf8))
            self.bytes.append(contentsOf: Array("=\"".utf8))
            Self.escape(value, attribute: true, into: &self.bytes)
            self.bytes.append(UInt8(ascii: "\""))
        }
        self.startTagOpen = true
        self.openNames.append(name)
        self.depth += 1
    }

    /// Text inside the element last opened. Pretty output does not indent around text, so that
    /// the text stays exactly what it was.
    public mutating func text(_ text: String) {
        guard !text.isEmpty else { return }
        self.closeStartTag()
        Self.escape(text, attribute: false, into: &self.bytes)
        self.textWritten = true
    }

    private var textWritten = false

    public mutating func close() {
        guard let name = self.openNames.popLast() else { return }
        self.depth -= 1
        if self.startTagOpen {
            self.bytes.append(contentsOf: Array("/>".utf8))
            self.startTagOpen = false
        } else {
            if !self.textWritten { self.newline() }
            self.bytes.append(contentsOf: Array("</".utf8))
            self.bytes.append(contentsOf: Array(name.utf8))
            self.bytes.append(UInt8(ascii: ">"))
        }
        self.textWritten = false
    }

    /// An element with attributes and nothing inside.
    public mutating func empty(_ name: String, attributes: [(String, String)]) {
        self.open(name, attributes: attributes)
        self.close()
    }

    /// `element` and its descendants, declaring its namespace when it differs from `inherited`.
    /// Nothing is indented inside it: in mixed content (XHTML) whitespace is content.
    public mutating func write(_ element: XMLElement, inheritedNamespace inherited: String?) {
        let indented = self.indent
        defer { self.indent = indented }
        var attributes: [(String, String)] = []
        if element.namespace != inherited { attributes.append(("xmlns", element.namespace ?? "")) }
        for attribute in element.attributes {
            let prefix = attribute.namespace == XMLElement.xmlNamespace ? "xml:" : ""
            attributes.append((prefix + attribute.name, attribute.value))
        }
        self.open(element.name, attributes: attributes)
        self.indent = false
        for child in element.children {
            switch child {
            case .element(let inner): self.write(inner, inheritedNamespace: element.namespace)
            case .text(let text): self.text(text)
            }
        }
        self.close()
    }

    private mutating func closeStartTag() {
        if self.startTagOpen {
            self.bytes.append(UInt8(ascii: ">"))
            self.startTagOpen = false
        }
    }

    private mutating func newline() {
        guard self.indent, !self.textWritten, !self.bytes.isEmpty else { return }
        if self.bytes.last != UInt8(ascii: "\n") { self.bytes.append(UInt8(ascii: "\n")) }
        self.bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * self.depth))
    }

    /// U+FFFD, written for characters XML 1.0 cannot carry (C0 controls but tab, LF and CR;
    /// U+FFFE and U+FFFF), so that the document stays well-formed whatever a value holds.
    static let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]

    static func escape(_ text: String, attribute: Bool, into bytes: inout [UInt8]) {
        let utf8 = Array(text.utf8)
        for (index, byte) in utf8.enumerated() {
            switch byte {
            case 0x00...0x08, 0x0B, 0x0C, 0x0E...0x1F:
                bytes.append(contentsOf: Self.replacement)
            case 0xBE...0xBF where index >= 2 && utf8[index - 2] == 0xEF && utf8[index - 1] == 0xBF:
                // The last byte of U+FFFE or U+FFFF (EF BF BE/BF): U+FFFD is EF BF BD.
                bytes.append(0xBD)
            case UInt8(ascii: "&"): bytes.append(contentsOf: Array("&amp;".utf8))
            case UInt8(ascii: "<"): bytes.append(contentsOf: Array("&lt;".utf8))
            case UInt8(ascii: ">"): bytes.append(contentsOf: Array("&gt;".utf8))
            case UInt8(ascii: "\"") where attribute: bytes.append(contentsOf: Array("&quot;".utf8))
            case UInt8(ascii: "\r"): bytes.append(contentsOf: Array("&#xD;".utf8))
            case UInt8(ascii: "\n") where attribute: bytes.append(contentsOf: Array("&#xA;".utf8))
            case UInt8(ascii: "\t") where attribute: bytes.append(contentsOf: Array("&#x9;".utf8))
            default: bytes.append(byte)
            }
        }
    }
}

extension XMLElement {
    /// The namespace of `xml:lang` and `xml:space`, bound to the prefix `xml` by definition.
    public static let xmlNamespace = "http://www.w3.org/XML/1998/namespace"

    /// The element alone as XML text (no declaration), its namespace declared on it.
    public var serialized: String {
        var writer = XMLWriter(declaration: false)
        writer.write(self, inheritedNamespace: nil)
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}
