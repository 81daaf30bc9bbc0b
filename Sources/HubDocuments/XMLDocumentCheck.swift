import HubXML

/// What an XML attachment is, once checked well-formed.
public enum XMLDocumentCheck: Sendable, Equatable {
    /// A CDA document, with its header.
    case clinicalDocument(ClinicalDocumentHeader)
    /// Well-formed XML of another kind.
    case otherXML

    /// Checks `bytes` with libxml2: not well-formed, or with a DTD, is an error; a
    /// ClinicalDocument must have a readable header.
    public static func check(_ bytes: [UInt8], defaultOffset: String = "+08:00") throws(DocumentError) -> XMLDocumentCheck {
        let tree = try ClinicalDocumentHeader.tree(parsing: bytes)
        guard let root = tree.root, root.name == "ClinicalDocument" else { return .otherXML }
        return .clinicalDocument(try ClinicalDocumentHeader(tree, defaultOffset: defaultOffset))
    }
}
