public import HubXML

/// R4's rules for a narrative's XHTML (§2.4 Narrative, constraints txt-1 and txt-2), checked on
/// every write whatever format it came in, and before any narrative is written as XML.
///
/// A narrative is shown to clinicians by other hospitals' viewers, so it is held to the basic
/// formatting R4 allows: a well-formed `div` in the XHTML namespace; only HTML 4.0's formatting,
/// list, table, link and image elements; no scripts, no event handlers (`on…`), no attribute of
/// another namespace but `xml:lang`, no `javascript:`-style link; and some content.
public enum NarrativeXHTML {
    static let elements: Set = [
        "div", "p", "br", "hr", "span", "a", "img", "b", "i", "u", "em", "strong", "small", "big", "tt", "sub", "sup", "code", "samp", "kbd",
        "var", "dfn", "cite", "abbr", "acronym", "q", "blockquote", "address", "bdo", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol",
        "li", "dl", "dt", "dd", "table", "caption", "colgroup", "col", "thead", "tbody", "tfoot", "tr", "th", "td", "map", "area", "ins", "del",
        "s", "strike",
    ]
    static let attributes: Set = [
        "title", "style", "class", "id", "lang", "dir", "accesskey", "tabindex", "href", "name", "src", "alt", "width", "height", "border",
        "span", "align", "valign", "char", "charoff", "abbr", "axis", "headers", "scope", "rowspan", "colspan", "summary", "frame", "rules",
        "cellspacing", "cellpadding", "start", "type", "value", "compact", "shape", "coords", "cite", "datetime",
    ]
    /// Link schemes a viewer would run rather than follow.
    static let activeSchemes = ["javascript:", "vbscript:", "data:text", "data:application"]

    /// The narrative parsed, or the rule it breaks.
    public static func parse(_ text: String) throws(FHIRXMLError) -> XMLElement {
        let tree: XMLTree
        do {
            tree = try XMLTree(parsing: Array(text.utf8))
        } catch {
            throw FHIRXMLError("the narrative is not well-formed XHTML: \(error)")
        }
        guard let root = tree.rootElement, root.name == "div", root.namespace == FHIRXML.xhtmlNamespace else {
            throw FHIRXMLError("a narrative is a <div> in the XHTML namespace (\(FHIRXML.xhtmlNamespace))")
        }
        var hasContent = false
        try self.check(root, hasContent: &hasContent)
        guard hasContent else { throw FHIRXMLError("a narrative has some content (text or an image)") }
        return root
    }

    /// Nil when `text` is a valid narrative, else why not.
    public static func problem(with text: String) -> String? {
        do {
            _ = try self.parse(text)
            return nil
        } catch {
            return error.message
        }
    }

    private static func check(_ element: XMLElement, hasContent: inout Bool) throws(FHIRXMLError) {
        guard element.namespace == FHIRXML.xhtmlNamespace, Self.elements.contains(element.name) else {
            throw FHIRXMLError("a narrative may not hold <\(element.name)>")
        }
        if element.name == "img" { hasContent = true }
        for attribute in element.attributes {
            let allowed =
                attribute.namespace == nil
                ? Self.attributes.contains(attribute.name) : attribute.namespace == XMLElement.xmlNamespace && attribute.name == "lang"
            guard allowed else { throw FHIRXMLError("a narrative's <\(element.name)> may not carry the attribute \(attribute.name)") }
            if attribute.name == "href" || attribute.name == "src" || attribute.name == "cite" {
                let link = String(attribute.value.unicodeScalars.filter { $0.value > 0x20 }).lowercased()
                guard !Self.activeSchemes.contains(where: link.hasPrefix) else {
                    throw FHIRXMLError("a narrative's links may not run code (\(attribute.name) on <\(element.name)>)")
                }
            }
        }
        for child in element.children {
            switch child {
            case .element(let inner): try self.check(inner, hasContent: &hasContent)
            case .text(let text): if text.contains(where: { !$0.isWhitespace }) { hasContent = true }
            }
        }
    }
}
