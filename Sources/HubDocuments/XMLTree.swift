import CLibXML2
import Foundation

/// A well-formed XML document parsed by libxml2, read with XPath, freed when dropped. Used in
/// one place at a time (not `Sendable`): parse, read, let go.
///
/// Parsed without network access and without a DTD: a document that declares one is refused,
/// so entities are never expanded (no "billion laughs", no external entities).
final class XMLTree {
    private let document: xmlDocPtr
    private let xpath: xmlXPathContextPtr

    /// libxml2 wants its globals set up once before threads use it.
    private static let initialized: Void = { xmlInitParser() }()

    /// Namespace prefixes the XPath expressions may use.
    static let namespaces = ["cda": "urn:hl7-org:v3"]

    init(parsing bytes: [UInt8]) throws(DocumentError) {
        _ = Self.initialized
        guard !bytes.isEmpty, bytes.count < Int(Int32.max) else { throw DocumentError(.notWellFormed(line: 1, column: 1), "the document is empty") }
        guard let context = xmlNewParserCtxt() else { throw DocumentError(.notWellFormed(line: 0, column: 0), "the XML parser could not start") }
        defer { xmlFreeParserCtxt(context) }
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_NOERROR.rawValue | XML_PARSE_NOWARNING.rawValue)
        let parsed = bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                xmlCtxtReadMemory(context, $0, Int32(buffer.count), "document.xml", nil, options)
            }
        }
        guard let parsed, context.pointee.wellFormed != 0 else {
            if let parsed { xmlFreeDoc(parsed) }
            let error = xmlCtxtGetLastError(context)
            let message = error?.pointee.message.map { String(cString: $0).trimmingCharacters(in: [" ", "\n"]) } ?? "parse error"
            throw DocumentError(.notWellFormed(line: Int(error?.pointee.line ?? 0), column: Int(error?.pointee.int2 ?? 0)), message)
        }
        guard parsed.pointee.intSubset == nil else {
            xmlFreeDoc(parsed)
            throw DocumentError(.documentTypeDeclaration, "documents with a DOCTYPE are not accepted")
        }
        guard let xpath = xmlXPathNewContext(parsed) else {
            xmlFreeDoc(parsed)
            throw DocumentError(.notWellFormed(line: 0, column: 0), "the XPath engine could not start")
        }
        for (prefix, uri) in Self.namespaces {
            _ = Self.withXMLString(prefix) { prefix in Self.withXMLString(uri) { xmlXPathRegisterNs(xpath, prefix, $0) } }
        }
        self.document = parsed
        self.xpath = xpath
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
    var root: (namespace: String?, name: String)? {
        guard let element = xmlDocGetRootElement(self.document) else { return nil }
        let name = String(cString: element.pointee.name)
        let namespace = element.pointee.ns.flatMap { $0.pointee.href.map { String(cString: $0) } }
        return (namespace, name)
    }

    /// XPath `string(expression)`, trimmed; nil when empty.
    func string(_ expression: String) -> String? {
        guard let result = Self.withXMLString("string(\(expression))", { xmlXPathEvalExpression($0, self.xpath) }) else { return nil }
        defer { xmlXPathFreeObject(result) }
        guard let value = result.pointee.stringval else { return nil }
        let text = String(cString: value).trimmingCharacters(in: [" ", "\n", "\t", "\r"])
        return text.isEmpty ? nil : text
    }

    /// How many nodes `expression` selects.
    func count(_ expression: String) -> Int {
        guard let result = Self.withXMLString("count(\(expression))", { xmlXPathEvalExpression($0, self.xpath) }) else { return 0 }
        defer { xmlXPathFreeObject(result) }
        return Int(result.pointee.floatval)
    }
}
