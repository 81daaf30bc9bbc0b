internal import CLibXML2
import Foundation

/// A well-formed XML document parsed by libxml2, read with XPath, freed when dropped. Used in
/// one place at a time (not `Sendable`): parse, read, let go.
///
/// Parsed without network access and without a DTD: a document that declares one is refused,
/// so entities are never expanded (no "billion laughs", no external entities).
public final class XMLTree {
    private let document: xmlDocPtr
    private let xpath: xmlXPathContextPtr

    /// libxml2 wants its globals set up once before threads use it.
    private static let initialized: Void = { xmlInitParser() }()

    /// More attributes than any document the hub reads needs: libxml2 (2.9) checks an element's
    /// attributes for duplicates pairwise, so a body of one element with 100,000 attributes
    /// would cost minutes of CPU. Counted before libxml2 sees the bytes.
    public static let maximumAttributesPerElement = 64

    /// Parses `bytes`; `namespaces` are the prefixes XPath expressions may use. The document
    /// must be namespace-well-formed (every prefix declared).
    public init(parsing bytes: [UInt8], namespaces: [String: String] = [:]) throws(XMLParseError) {
        _ = Self.initialized
        guard !bytes.isEmpty, bytes.count < Int(Int32.max) else { throw XMLParseError(.notWellFormed(line: 1, column: 1), "the document is empty") }
        try Self.checkAttributeCounts(bytes)
        // libxml2 reports some errors (encodings, I/O) to a global handler that prints them,
        // document bytes included, to stderr. A structured handler that does nothing takes them
        // instead (it is per thread, so it is set on the thread that parses); the context still
        // keeps the last error for the message thrown below.
        xmlSetStructuredErrorFunc(nil, Self.discardError)
        guard let context = xmlNewParserCtxt() else { throw XMLParseError(.notWellFormed(line: 0, column: 0), "the XML parser could not start") }
        defer { xmlFreeParserCtxt(context) }
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue)
        let parsed = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                xmlCtxtReadMemory(context, $0, Int32(buffer.count), "document.xml", nil, options)
            }
        }
        guard let parsed, context.pointee.wellFormed != 0, context.pointee.nsWellFormed != 0 else {
            if let parsed { xmlFreeDoc(parsed) }
            let error = xmlCtxtGetLastError(context)
            let message = error?.pointee.message.map { String(cString: $0).trimmingCharacters(in: [" ", "\n"]) } ?? "parse error"
            throw XMLParseError(.notWellFormed(line: Int(error?.pointee.line ?? 0), column: Int(error?.pointee.int2 ?? 0)), message)
        }
        guard parsed.pointee.intSubset == nil else {
            xmlFreeDoc(parsed)
            throw XMLParseError(.documentTypeDeclaration, "documents with a DOCTYPE are not accepted")
        }
        guard let xpath = xmlXPathNewContext(parsed) else {
            xmlFreeDoc(parsed)
            throw XMLParseError(.notWellFormed(line: 0, column: 0), "the XPath engine could not start")
        }
        for (prefix, uri) in namespaces {
            _ = Self.withXMLString(prefix) { prefix in Self.withXMLString(uri) { xmlXPathRegisterNs(xpath, prefix, $0) } }
        }
        self.document = parsed
        self.xpath = xpath
    }

    private static let discardError: xmlStructuredErrorFunc = { _, _ in }

    /// Refuses a tag with more than ``maximumAttributesPerElement`` attributes (namespace
    /// declarations included), counting `=` outside quoted values between `<` and `>`, and
    /// skipping comments, CDATA sections and processing instructions. One pass, no allocation.
    static func checkAttributeCounts(_ bytes: [UInt8]) throws(XMLParseError) {
        let lt = UInt8(ascii: "<")
        func skip(past terminator: [UInt8], from start: Int) -> Int {
            var index = start
            while index + terminator.count <= bytes.count {
                if bytes[index] == terminator[0], bytes[index..<index + terminator.count].elementsEqual(terminator) {
                    return index + terminator.count
                }
                index += 1
            }
            return bytes.count
        }
        func hasPrefix(_ prefix: String, at index: Int) -> Bool {
            let utf8 = Array(prefix.utf8)
            return index + utf8.count <= bytes.count && bytes[index..<index + utf8.count].elementsEqual(utf8)
        }
        var index = 0
        while index < bytes.count {
            guard bytes[index] == lt else {
                index += 1
                continue
            }
            if hasPrefix("<!--", at: index) {
                index = skip(past: Array("-->".utf8), from: index + 4)
            } else if hasPrefix("<![CDATA[", at: index) {
                index = skip(past: Array("]]>".utf8), from: index + 9)
            } else if hasPrefix("<?", at: index) {
                index = skip(past: Array("?>".utf8), from: index + 2)
            } else {
                var attributes = 0
                var quote: UInt8?
                index += 1
                while index < bytes.count {
                    let byte = bytes[index]
                    if let open = quote {
                        if byte == open { quote = nil }
                    } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                        quote = byte
                    } else if byte == UInt8(ascii: "=") {
                        attributes += 1
                    } else if byte == UInt8(ascii: ">") {
                        break
                    }
                    index += 1
                }
                guard attributes <= Self.maximumAttributesPerElement else {
                    throw XMLParseError(
                        .limit, "an element has more than \(Self.maximumAttributesPerElement) attributes")
                }
            }
        }
    }

    /// `text` as the NUL-terminated `xmlChar` string libxml2 takes.
    private static func withXMLString<Result>(_ text: String, _ body: (UnsafePointer<xmlChar>) -> Result) -> Result {
        let bytes = Array(text.utf8) + [0]
        return bytes.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    deinit {
        xmlXPathFreeContext(self.xpath)
        xmlFreeDoc(self.document)
    }

    /// The root element's namespace URI and local name.
    public var root: (namespace: String?, name: String)? {
        guard let element = xmlDocGetRootElement(self.document) else { return nil }
        let name = String(cString: element.pointee.name)
        let namespace = element.pointee.ns.flatMap { $0.pointee.href.map { String(cString: $0) } }
        return (namespace, name)
    }

    /// XPath `string(expression)`, trimmed; nil when empty.
    public func string(_ expression: String) -> String? {
        guard let result = Self.withXMLString("string(\(expression))", { xmlXPathEvalExpression($0, self.xpath) }) else { return nil }
        defer { xmlXPathFreeObject(result) }
        guard let value = result.pointee.stringval else { return nil }
        let text = String(cString: value).trimmingCharacters(in: [" ", "\n", "\t", "\r"])
        return text.isEmpty ? nil : text
    }

    /// How many nodes `expression` selects.
    public func count(_ expression: String) -> Int {
        guard let result = Self.withXMLString("count(\(expression))", { xmlXPathEvalExpression($0, self.xpath) }) else { return 0 }
        defer { xmlXPathFreeObject(result) }
        return Int(result.pointee.floatval)
    }

    /// The root element and its descendants as values.
    public var rootElement: XMLElement? {
        xmlDocGetRootElement(self.document).map(Self.element)
    }

    private static func element(_ node: xmlNodePtr) -> XMLElement {
        let name = String(cString: node.pointee.name)
        let namespace = node.pointee.ns.flatMap { $0.pointee.href.map { String(cString: $0) } }
        var attributes: [XMLElement.Attribute] = []
        var attribute = node.pointee.properties
        while let current = attribute {
            var value = ""
            var child = current.pointee.children
            while let text = child {
                if let content = text.pointee.content { value += String(cString: content) }
                child = text.pointee.next
            }
            attributes.append(
                XMLElement.Attribute(
                    namespace: current.pointee.ns.flatMap { $0.pointee.href.map { String(cString: $0) } },
                    name: String(cString: current.pointee.name), value: value))
            attribute = current.pointee.next
        }
        var children: [XMLElement.Node] = []
        var child = node.pointee.children
        while let current = child {
            switch current.pointee.type {
            case XML_ELEMENT_NODE: children.append(.element(Self.element(current)))
            case XML_TEXT_NODE, XML_CDATA_SECTION_NODE:
                if let content = current.pointee.content { children.append(.text(String(cString: content))) }
            default: break  // comments and processing instructions carry nothing a reader needs
            }
            child = current.pointee.next
        }
        return XMLElement(namespace: namespace, name: name, attributes: attributes, children: children, line: Int(xmlGetLineNo(node)))
    }
}
