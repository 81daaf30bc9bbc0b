import Foundation

/// A hospital, laboratory or the health commission. Its id is what FHIR references name
/// (`Organization/<id>` in a Consent's actors or a referral Task's owner).
public struct Organization: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case hospital, laboratory, commission, other
    }

    public var id: String
    public var name: String
    public var kind: Kind
    public var active: Bool

    public init(id: String, name: String, kind: Kind, active: Bool = true) {
        self.id = id
        self.name = name
        self.kind = kind
        self.active = active
    }

    private enum CodingKeys: String, CodingKey {
        case id, name, kind, active
    }

    /// `active` may be left out: an organization registered is active unless it says otherwise.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.id = try container.decode(String.self, forKey: .id)
        self.name = try container.decode(String.self, forKey: .name)
        self.kind = try container.decode(Kind.self, forKey: .kind)
        self.active = try container.decodeIfPresent(Bool.self, forKey: .active) ?? true
    }
}
