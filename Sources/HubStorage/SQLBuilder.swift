public import PostgresNIO

/// Numbered placeholders and their bindings, built together so they cannot drift apart.
///
/// For statements assembled from parts (a search's conditions, the members of one `WITH …`
/// write); values are always bound, never spliced into the text.
public struct SQLBuilder: Sendable {
    public var bindings = PostgresBindings()

    public init() {}

    public mutating func bind<Value: PostgresNonThrowingEncodable & Sendable>(_ value: Value) -> String {
        self.bindings.append(value)
        return "$\(self.bindings.count)"
    }

    /// NULL for nil (give the placeholder a type cast where PostgreSQL cannot infer one).
    public mutating func bind<Value: PostgresNonThrowingEncodable & Sendable>(_ value: Value?) -> String {
        if let value { return self.bind(value) }
        self.bindings.appendNull()
        return "$\(self.bindings.count)"
    }

    /// A statement of these bindings.
    public func query(_ text: String) -> PostgresQuery {
        PostgresQuery(unsafeSQL: text, binds: self.bindings)
    }
}
