import Foundation
public import HubFHIR

/// A FHIR search, parsed and checked against the type's parameters.
///
/// Parameters combine with AND; comma-separated values of one parameter with OR. Unknown or
/// malformed parameters are errors (`.invalid`) unless `lenient`, where unknown ones are dropped
/// and reported in ``ignored``.
public struct SearchQuery: Sendable {
    /// FHIR R4 §3.1.1.4.6's comparison prefixes of dates, numbers and quantities.
    public enum DatePrefix: String, Sendable, CaseIterable {
        case eq, ne, gt, lt, ge, le
        /// Starts after / ends before the search value's range.
        case sa, eb
        /// Approximately: within 10% (of the value, or for dates of the distance from now).
        case ap
    }

    public enum Clause: Sendable {
        case id([String])
        case lastUpdated([(DatePrefix, FHIRDateRange)])
        case token(param: String, values: [(system: String?, code: String?)], negated: Bool, isBlind: Bool)
        case string(param: String, values: [String], match: StringMatch)
        case reference(param: String, values: [(type: String?, id: String)])
        case date(param: String, values: [(DatePrefix, FHIRDateRange)])
        /// Numbers keep their text: `5.4` means [5.35, 5.45) under `eq`, per its precision.
        case quantity(param: String, values: [(prefix: DatePrefix, number: String, system: String?, code: String?)])
        /// A chained parameter (`subject:Patient.identifier=…`, up to ``Limits/chainDepth``
        /// links): resources whose reference `param` points at a `target` that matches `inner`.
        indirect case chain(param: String, target: ResourceType, inner: Clause)
        /// A reverse chain (`_has:Observation:patient:code=…`): resources that a `source`
        /// resource matching `inner` points at through its reference `param`.
        indirect case reverseChain(source: ResourceType, param: String, inner: Clause)
        /// The organizations that published the resource (``SearchParameter/isPublisher``).
        case publisher([String])
        /// A composite parameter (`code-value-quantity=…|2345-7$gt7`): the first component's
        /// token and the second's value, found in one element.
        case composite(param: String, values: [CompositeValue])
        /// `:missing=true` (the resource has no value for the parameter) or `false` (it has one).
        case missing(param: String, kind: SearchParameter.Kind, missing: Bool)
    }

    /// One value of a composite parameter: `system|code$second`.
    public struct CompositeValue: Sendable {
        public var system: String?
        public var code: String?
        public var second: Second

        /// The second component, as its kind compares.
        public enum Second: Sendable {
            case token(system: String?, code: String?)
            case quantity(prefix: DatePrefix, number: String, system: String?, code: String?)
            case date(DatePrefix, FHIRDateRange)
            case string(String, StringMatch)
        }
    }

    /// How a string parameter matches (FHIR R4 §3.1.1.4.7).
    public enum StringMatch: Sendable {
        /// The default: the value starts with the search string.
        case startsWith
        /// `:exact`: the whole value as written, case and accents included.
        case exact
        /// `:contains`: anywhere in the value.
        case contains
    }

    /// `_sort`: by id (the default), by `_lastUpdated`, or by a date or token parameter (its
    /// earliest date or lowest code; resources without one come last), either way round.
    public enum Sort: Sendable, Equatable {
        case id(descending: Bool)
        case lastUpdated(descending: Bool)
        case parameter(name: String, kind: SearchParameter.Kind, descending: Bool)
        /// Several keys (`_sort=status,-date`), or one the indexes cannot walk in order (a
        /// quantity, a reference): the matches sorted by each key in turn, then by id.
        case keys([SortKey])
    }

    /// One key of a ``Sort/keys(_:)`` sort: a resource's lowest value for a parameter (its
    /// earliest date, lowest code, smallest quantity, first reference), or a column.
    public struct SortKey: Sendable, Equatable {
        public enum Field: Sendable, Equatable {
            case id, lastUpdated
            case parameter(String, SearchParameter.Kind)
        }
        public var field: Field
        public var descending: Bool
    }

    public var type: ResourceType
    public var clauses: [Clause] = []
    public var sort: Sort = .id(descending: false)
    /// `_include=Type:param`: reference parameters of the matches whose targets to add.
    public var includes: [Include] = []
    /// `_revinclude=Type:param`: resources of `Type` that point at the matches through `param`.
    public var reverseIncludes: [Include] = []

    /// One `_include` or `_revinclude`: the reference parameter `param` of `source`, to
    /// `target` only when named; `iterate` applies it to what was included as well, up to
    /// ``Limits/includeRounds`` rounds.
    public struct Include: Sendable, Equatable {
        public var source: ResourceType
        public var param: String
        public var target: ResourceType?
        public var iterate: Bool
    }
    /// `_elements`: the top-level elements to return (nil: all).
    public var elements: [String]?
    /// Page size: `_count`, default 20, at most 200.
    public var count = 20
    /// The keyset position: results after this id.
    public var cursor: String?
    /// Whether to count all matches (`_total=accurate` or `_summary=count`).
    public var wantsTotal = false
    /// `_summary=count`: the total only, no resources.
    public var countOnly = false
    /// `_summary=text`, `data` or `false`: what of each resource to return.
    public var summary: ResourceSummary?
    /// Whether `_count` was given (it is then not criteria alone).
    public private(set) var countGiven = false
    /// Unknown parameters dropped under lenient handling.
    public var ignored: [String] = []
    /// The parameters as understood, for the Bundle's `self` and `next` links.
    public var canonicalParameters: [(String, String)] = []

    public static let maximumCount = 200

    /// Whether the query is search criteria and nothing else — no paging, sorting, includes,
    /// totals, summaries or element lists: what a conditional write or `$lastn` may be given.
    public var isCriteriaOnly: Bool {
        self.cursor == nil && self.sort == .id(descending: false) && self.includes.isEmpty && self.reverseIncludes.isEmpty
            && !self.wantsTotal && !self.countOnly && self.summary == nil && self.elements == nil && !self.countGiven
    }

    /// What one search may ask for, so that its cost is bounded before any work is done (issue
    /// #14: a 1 MiB `:contains` value cost millions of HMACs and a huge SQL text). Beyond them the
    /// search is refused (400, `too-costly`) with the limit named.
    public enum Limits {
        /// Parameters in one search, criteria and result parameters together.
        public static let parameters = 40
        /// Comma-separated (OR) values of one parameter.
        public static let values = 100
        /// Characters of one value (a code, an identifier, a date, a reference).
        public static let valueLength = 512
        /// Characters of one string search value (`name`, `name:contains`): each needs blind
        /// index keys, `:contains` one per window of it.
        public static let stringLength = 64
        /// `_include` and `_revinclude` together.
        public static let includes = 10
        /// Links in one chain (`a.b.c`), and `_has` within `_has`: each is a subquery.
        public static let chainDepth = 3
        /// Rounds of `:iterate` after the first round of includes.
        public static let includeRounds = 3
        /// Keys of one `_sort`.
        public static let sortKeys = 3
    }
    /// Result parameters and formatting options that are not search criteria.
    static let passThrough: Set = ["_format", "_pretty"]

    public init(type: ResourceType, parameters: [(String, String)], lenient: Bool) throws(ResourceError) {
        self.type = type
        func tooCostly(_ message: String, _ expression: String? = nil) -> ResourceError {
            ResourceError(.invalid, .tooCostly, message, expression: expression.map { [$0] })
        }
        guard parameters.count <= Limits.parameters else {
            throw tooCostly("a search takes at most \(Limits.parameters) parameters; this one has \(parameters.count)")
        }
        guard parameters.filter({ ["_include", "_revinclude"].contains($0.0.split(separator: ":").first ?? "") }).count <= Limits.includes else {
            throw tooCostly("a search takes at most \(Limits.includes) _include and _revinclude parameters together")
        }
        for (rawName, value) in parameters {
            let parts = rawName.split(separator: ":", maxSplits: 1).map(String.init)
            let name = parts.first ?? ""
            let modifier = parts.count > 1 ? parts[1] : nil
            if Self.passThrough.contains(name) { continue }
            func invalid(_ message: String) -> ResourceError {
                ResourceError(.invalid, .invalid, message, expression: [rawName])
            }
            let values = value.split(separator: ",", omittingEmptySubsequences: false).map { $0.replacingOccurrences(of: "\\,", with: ",") }
            guard !value.isEmpty, !values.contains(where: \.isEmpty) else { throw invalid("parameter \(rawName) has an empty value") }
            guard values.count <= Limits.values else {
                throw tooCostly("a parameter takes at most \(Limits.values) values (separated by commas); \(rawName) has \(values.count)", rawName)
            }
            guard values.allSatisfy({ $0.count <= Limits.valueLength }) else {
                throw tooCostly("a value has at most \(Limits.valueLength) characters", rawName)
            }
            if !name.hasPrefix("_"), rawName.contains(".") {
                self.clauses.append(try Self.chain(Substring(rawName), type: type, values: values))
                self.canonicalParameters.append((rawName, value))
                continue
            }
            if name == "_has" {
                self.clauses.append(try Self.reverseChain(rawName, type: type, values: values))
                self.canonicalParameters.append((rawName, value))
                continue
            }
            switch name {
            case "_count":
                guard let count = Int(value), count >= 0 else { throw invalid("_count must be a whole number") }
                self.count = min(count, Self.maximumCount)
                self.countGiven = true
            case "_cursor":
                // An id, or `<microseconds>:<id>` when sorting by _lastUpdated; checked when used.
                guard value.split(separator: ":").last.map({ ResourceValidator.isValidID(String($0)) }) == true else {
                    throw invalid("_cursor is not a position this server gave")
                }
                self.cursor = value
                continue
            case "_include", "_revinclude":
                guard modifier == nil || modifier == "iterate" || modifier == "recurse" else {
                    throw invalid("\(name) takes the modifier :iterate only")
                }
                let iterate = modifier != nil
                if name == "_include", value == "*", !iterate {
                    // Every reference parameter of the type: bounded by the type's table.
                    for parameter in type.searchParameters where parameter.kind == .reference {
                        self.includes.append(Include(source: type, param: parameter.name, target: nil, iterate: false))
                    }
                    break
                }
                let include = try Self.include(value, iterate: iterate, reverse: name == "_revinclude", type: type, rawName: rawName)
                if name == "_include" { self.includes.append(include) } else { self.reverseIncludes.append(include) }
            case "_sort":
                guard values.count <= Limits.sortKeys else {
                    throw ResourceError(.invalid, .tooCostly, "_sort takes at most \(Limits.sortKeys) keys", expression: [rawName])
                }
                var keys: [SortKey] = []
                for value in values {
                    let descending = value.hasPrefix("-")
                    let key = descending ? String(value.dropFirst()) : value
                    switch key {
                    case "_id": keys.append(SortKey(field: .id, descending: descending))
                    case "_lastUpdated": keys.append(SortKey(field: .lastUpdated, descending: descending))
                    default:
                        // Blind values (names, identifiers, URIs) have no order to give.
                        guard let parameter = type.searchParameter(named: key), [.date, .token, .quantity, .reference].contains(parameter.kind),
                            !parameter.isBlind, !parameter.isPublisher
                        else {
                            throw ResourceError(
                                .invalid,
                                .notSupported,
                                "_sort=\(value) is not supported: sort by _id, _lastUpdated, or a date, code, quantity or reference parameter (prefix - to reverse); names and identifiers are blind-indexed and have no order",
                                expression: [rawName]
                            )
                        }
                        keys.append(SortKey(field: .parameter(key, parameter.kind), descending: descending))
                    }
                }
                switch keys.first?.field {
                case _ where keys.count != 1: self.sort = .keys(keys)
                case .id: self.sort = .id(descending: keys[0].descending)
                case .lastUpdated: self.sort = .lastUpdated(descending: keys[0].descending)
                case .parameter(let name, let kind) where kind == .date || kind == .token:
                    self.sort = .parameter(name: name, kind: kind, descending: keys[0].descending)
                default: self.sort = .keys(keys)
                }
            case "_elements":
                let names = values.map { $0.trimmingCharacters(in: .whitespaces) }
                guard names.allSatisfy({ ResourceValidator.isElementName($0) && !$0.hasPrefix("_") }) else {
                    throw invalid("_elements takes element names (name,birthDate)")
                }
                self.elements = names
            case "_total":
                guard ["accurate", "none", "estimate"].contains(value) else { throw invalid("_total must be none, estimate or accurate") }
                self.wantsTotal = value == "accurate"
            case "_summary":
                if value == "count" {
                    self.countOnly = true
                    self.wantsTotal = true
                } else {
                    self.summary = try ResourceSummary(parameter: value)
                }
            case "_id":
                guard modifier == nil, values.allSatisfy(ResourceValidator.isValidID) else { throw invalid("_id takes resource ids") }
                self.clauses.append(.id(values))
            case "_lastUpdated":
                self.clauses.append(.lastUpdated(try Self.dates(values, rawName)))
            default:
                guard let parameter = type.searchParameter(named: name) else {
                    if lenient {
                        self.ignored.append(rawName)
                        continue
                    }
                    if let reason = type.r4RefusedSearchParameters[name] {
                        throw ResourceError(
                            .invalid, .notSupported, "\(type.rawValue)'s search parameter \(name) is not offered: \(reason)", expression: [rawName])
                    }
                    throw ResourceError(
                        .invalid,
                        .notSupported,
                        "\(type.rawValue) has no search parameter \(name) on this server (see /fhir/metadata)",
                        expression: [rawName]
                    )
                }
                self.clauses.append(try Self.clause(parameter, modifier: modifier, values: values, rawName: rawName))
            }
            self.canonicalParameters.append((rawName, value))
        }
    }

    static func clause(_ parameter: SearchParameter, modifier: String?, values: [String], rawName: String) throws(ResourceError) -> Clause {
        func unsupported() -> ResourceError {
            ResourceError(.invalid, .notSupported, "modifier :\(modifier ?? "") is not supported on \(parameter.name)", expression: [rawName])
        }
        if modifier == "missing" {
            guard !parameter.isPublisher else { throw unsupported() }
            guard values.count == 1, values[0] == "true" || values[0] == "false" else {
                throw ResourceError(.invalid, .invalid, ":missing takes true or false", expression: [rawName])
            }
            return .missing(param: parameter.name, kind: parameter.kind, missing: values[0] == "true")
        }
        switch parameter.kind {
        case .token:
            guard modifier == nil || modifier == "not" else { throw unsupported() }
            return .token(param: parameter.name, values: values.map(Self.token), negated: modifier == "not", isBlind: parameter.isBlind)
        case .composite:
            guard modifier == nil, parameter.components.count == 2 else { throw unsupported() }
            var composites: [CompositeValue] = []
            for value in values {
                // R4 §3.1.1.4.9: the first `$` not escaped as `\$` separates the parts.
                var dollar: String.Index?
                var index = value.startIndex
                while index < value.endIndex, dollar == nil {
                    if value[index] == "\\" {
                        index = value.index(after: index)
                        if index < value.endIndex { index = value.index(after: index) }
                        continue
                    }
                    if value[index] == "$" { dollar = index }
                    index = value.index(after: index)
                }
                guard let dollar else {
                    throw ResourceError(.invalid, .invalid, "\(parameter.name) takes code$value", expression: [rawName])
                }
                let unescaped = { (text: Substring) in text.replacingOccurrences(of: "\\$", with: "$") }
                let first = Self.token(unescaped(value[..<dollar]))
                let secondText = unescaped(value[value.index(after: dollar)...])
                guard let code = first.code, !code.isEmpty, !secondText.isEmpty else {
                    throw ResourceError(.invalid, .invalid, "\(parameter.name) takes code$value, both given", expression: [rawName])
                }
                let second: CompositeValue.Second
                switch parameter.components[1].kind {
                case .token:
                    let token = Self.token(secondText)
                    second = .token(system: token.system, code: token.code)
                case .quantity:
                    let quantity = try Self.quantity(secondText, rawName)
                    second = .quantity(prefix: quantity.prefix, number: quantity.number, system: quantity.system, code: quantity.code)
                case .date:
                    let date = try Self.dates([secondText], rawName)[0]
                    second = .date(date.0, date.1)
                case .string:
                    guard secondText.count <= Limits.stringLength else {
                        throw ResourceError(
                            .invalid, .tooCostly, "a string search value has at most \(Limits.stringLength) characters", expression: [rawName])
                    }
                    second = .string(secondText, .startsWith)
                case .reference, .uri, .composite:
                    throw unsupported()
                }
                composites.append(CompositeValue(system: first.system, code: first.code, second: second))
            }
            return .composite(param: parameter.name, values: composites)
        case .uri:
            // Matched whole: a canonical's `|version` is part of it, not a system.
            guard modifier == nil else { throw unsupported() }
            return .token(param: parameter.name, values: values.map { (system: "", code: $0) }, negated: false, isBlind: parameter.isBlind)
        case .string:
            let match: StringMatch
            switch modifier {
            case nil: match = .startsWith
            case "exact": match = .exact
            case "contains": match = .contains
            default: throw unsupported()
            }
            guard values.allSatisfy({ $0.count <= Limits.stringLength }) else {
                throw ResourceError(
                    .invalid, .tooCostly, "a string search value has at most \(Limits.stringLength) characters", expression: [rawName])
            }
            if match == .contains, !parameter.indexesSubstrings {
                throw ResourceError(
                    .invalid, .notSupported, ":contains is offered on names only; \(parameter.name) matches from the start or :exact",
                    expression: [rawName])
            }
            if match == .contains, !values.allSatisfy({ SearchKeys.normalizeName($0).count >= SearchKeys.containsMinimum }) {
                throw ResourceError(
                    .invalid, .invalid,
                    ":contains needs at least \(SearchKeys.containsMinimum) characters (single characters inside names are not indexed)",
                    expression: [rawName]
                )
            }
            return .string(param: parameter.name, values: values, match: match)
        case .reference:
            var references: [(type: String?, id: String)] = []
            for value in values {
                let parts = value.split(separator: "/").map(String.init)
                let type = modifier ?? (parts.count == 2 ? parts[0] : nil)
                guard let id = parts.last, ResourceValidator.isValidID(id), parts.count <= 2 else {
                    throw ResourceError(.invalid, .invalid, "\(value) is not a reference (Type/id or id)", expression: [rawName])
                }
                if let type, let targets = parameter.targets, !targets.contains(type) {
                    throw ResourceError(
                        .invalid, .invalid, "\(parameter.name) refers to \(targets.joined(separator: ", ")), not \(type)", expression: [rawName])
                }
                // An id alone names one type only where the parameter refers to one type.
                references.append((type ?? (parameter.targets?.count == 1 ? parameter.targets?.first : nil), id))
            }
            if parameter.isPublisher { return .publisher(references.map(\.id)) }
            return .reference(param: parameter.name, values: references)
        case .date:
            guard modifier == nil else { throw unsupported() }
            return .date(param: parameter.name, values: try Self.dates(values, rawName))
        case .quantity:
            guard modifier == nil else { throw unsupported() }
            var quantities: [(prefix: DatePrefix, number: String, system: String?, code: String?)] = []
            for value in values { quantities.append(try Self.quantity(value, rawName)) }
            return .quantity(param: parameter.name, values: quantities)
        }
    }

    /// A token's value: `code`, `system|code`, `system|` or `|code` (no system).
    static func token(_ value: String) -> (system: String?, code: String?) {
        guard let bar = value.firstIndex(of: "|") else { return (nil, value) }
        let system = String(value[..<bar])
        let code = String(value[value.index(after: bar)...])
        return (system, code.isEmpty ? nil : code)
    }

    /// A quantity's value: `[prefix]number` or `[prefix]number|system|code`.
    static func quantity(_ value: String, _ rawName: String) throws(ResourceError) -> (
        prefix: DatePrefix, number: String, system: String?, code: String?
    ) {
        let parts = value.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 1 || parts.count == 3 else {
            throw ResourceError(.invalid, .invalid, "\(value) is not number or number|system|code", expression: [rawName])
        }
        var number = Substring(parts[0])
        var prefix = DatePrefix.eq
        if let candidate = DatePrefix(rawValue: String(number.prefix(2))) {
            prefix = candidate
            number = number.dropFirst(2)
        }
        guard Self.isDecimal(number) else {
            throw ResourceError(
                .invalid, .invalid, "\(parts[0]) is not a number (with an optional prefix eq, ne, gt, lt, ge, le, sa, eb, ap)",
                expression: [rawName])
        }
        return (
            prefix, String(number), parts.count == 3 && !parts[1].isEmpty ? parts[1] : nil, parts.count == 3 && !parts[2].isEmpty ? parts[2] : nil
        )
    }

    /// `subject:Patient.identifier`, `patient.name:contains`, `subject:Patient.organization.name`:
    /// a chain through reference parameters, up to ``Limits/chainDepth`` links, to a parameter of
    /// the last target type.
    static func chain(_ rawName: Substring, type: ResourceType, values: [String], depth: Int = 1) throws(ResourceError) -> Clause {
        let whole = String(rawName)
        guard let dot = rawName.firstIndex(of: ".") else { throw ResourceError(.invalid, .invalid, "not a chain", expression: [whole]) }
        guard depth <= Limits.chainDepth else {
            throw ResourceError(.invalid, .tooCostly, "a chain has at most \(Limits.chainDepth) links", expression: [whole])
        }
        let head = rawName[..<dot].split(separator: ":", maxSplits: 1).map(String.init)
        let rest = rawName[rawName.index(after: dot)...]
        guard let referenceName = head.first, let reference = type.searchParameter(named: referenceName), reference.kind == .reference else {
            throw ResourceError(.invalid, .notSupported, "a chain goes through a reference parameter of \(type.rawValue)", expression: [whole])
        }
        let targetName = head.count > 1 ? head[1] : (reference.targets?.count == 1 ? reference.targets?.first : nil)
        if let targetName, ResourceType(rawValue: targetName) == nil {
            throw ResourceError(
                .invalid, .notSupported, "\(referenceName) points at \(targetName), which this hub does not store: nothing to chain through",
                expression: [whole])
        }
        guard let targetName, let target = ResourceType(rawValue: targetName), reference.targets?.contains(targetName) ?? true else {
            throw ResourceError(
                .invalid,
                .invalid,
                "\(referenceName) may refer to several types: name one (\(referenceName):Patient.identifier)",
                expression: [whole]
            )
        }
        if rest.contains(".") {
            return .chain(param: reference.name, target: target, inner: try Self.chain(rest, type: target, values: values, depth: depth + 1))
        }
        let tail = rest.split(separator: ":", maxSplits: 1).map(String.init)
        guard let innerName = tail.first, let inner = target.searchParameter(named: innerName) else {
            throw ResourceError(
                .invalid, .notSupported, "\(target.rawValue) has no search parameter \(tail.first ?? "") to chain to", expression: [whole])
        }
        let clause = try Self.clause(inner, modifier: tail.count > 1 ? tail[1] : nil, values: values, rawName: whole)
        return .chain(param: reference.name, target: target, inner: clause)
    }

    /// `_has:Observation:patient:code`: resources of `type` that an Observation matching `code`
    /// points at through its reference parameter `patient` (R4 §3.1.1.5.7). The last part may be
    /// a parameter (with a modifier), a chain, or another `_has`, up to ``Limits/chainDepth``.
    static func reverseChain(_ rawName: String, type: ResourceType, values: [String], depth: Int = 1) throws(ResourceError) -> Clause {
        guard depth <= Limits.chainDepth else {
            throw ResourceError(.invalid, .tooCostly, "_has nests at most \(Limits.chainDepth) deep", expression: [rawName])
        }
        let parts = rawName.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 4, parts[0] == "_has", let source = ResourceType(rawValue: parts[1]) else {
            throw ResourceError(.invalid, .invalid, "_has takes _has:<Type>:<reference parameter>:<parameter>", expression: [rawName])
        }
        guard let reference = source.searchParameter(named: parts[2]), reference.kind == .reference,
            reference.targets?.contains(type.rawValue) ?? true
        else {
            throw ResourceError(
                .invalid, .invalid, "\(parts[2]) is not a reference parameter of \(source.rawValue) that can point at \(type.rawValue)",
                expression: [rawName])
        }
        let last = parts[3]
        let inner: Clause
        if last.hasPrefix("_has:") {
            inner = try Self.reverseChain(last, type: source, values: values, depth: depth + 1)
        } else if last.contains(".") {
            inner = try Self.chain(Substring(last), type: source, values: values, depth: depth + 1)
        } else {
            let nameAndModifier = last.split(separator: ":", maxSplits: 1).map(String.init)
            guard let name = nameAndModifier.first, let parameter = source.searchParameter(named: name) else {
                throw ResourceError(.invalid, .notSupported, "\(source.rawValue) has no search parameter \(last)", expression: [rawName])
            }
            inner = try Self.clause(parameter, modifier: nameAndModifier.count > 1 ? nameAndModifier[1] : nil, values: values, rawName: rawName)
        }
        return .reverseChain(source: source, param: reference.name, inner: inner)
    }

    /// `Source:param[:Target]`: a forward include's source is the searched type unless it
    /// iterates; the parameter is a reference, the target one it may point at.
    static func include(_ value: String, iterate: Bool, reverse: Bool, type: ResourceType, rawName: String) throws(ResourceError) -> Include {
        let parts = value.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let form = reverse ? "<Type>:<reference parameter>[:<target type>]" : "\(type.rawValue):<reference parameter>[:<target type>]"
        guard parts.count == 2 || parts.count == 3, let source = ResourceType(rawValue: parts[0]), reverse || iterate || source == type,
            let parameter = source.searchParameter(named: parts[1]), parameter.kind == .reference
        else {
            throw ResourceError(.invalid, .invalid, "\(rawName) takes \(form)", expression: [rawName])
        }
        var target: ResourceType?
        if parts.count == 3 {
            guard let named = ResourceType(rawValue: parts[2]), parameter.targets?.contains(named.rawValue) ?? true else {
                throw ResourceError(.invalid, .invalid, "\(parts[1]) of \(source.rawValue) does not point at \(parts[2])", expression: [rawName])
            }
            target = named
        }
        if reverse, !(parameter.targets?.contains(type.rawValue) ?? true), !iterate {
            throw ResourceError(.invalid, .invalid, "\(parts[1]) of \(source.rawValue) does not point at \(type.rawValue)", expression: [rawName])
        }
        return Include(source: source, param: parameter.name, target: target, iterate: iterate)
    }

    /// `-12`, `5.40`: an optional minus, digits, an optional fraction (no exponents).
    package static func isDecimal(_ text: Substring) -> Bool {
        var rest = text
        if rest.first == "-" { rest = rest.dropFirst() }
        let parts = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }) else {
            return false
        }
        return true
    }

    static func dates(_ values: [String], _ rawName: String) throws(ResourceError) -> [(DatePrefix, FHIRDateRange)] {
        var result: [(DatePrefix, FHIRDateRange)] = []
        for value in values {
            var text = Substring(value)
            var prefix = DatePrefix.eq
            if let candidate = DatePrefix(rawValue: String(text.prefix(2))) {
                prefix = candidate
                text = text.dropFirst(2)
            }
            guard let range = FHIRDateRange(String(text)) else {
                throw ResourceError(.invalid, .invalid, "\(value) is not a FHIR date or dateTime", expression: [rawName])
            }
            result.append((prefix, range))
        }
        return result
    }
}

/// One page of search results.
extension SearchQuery {
    /// The Patients the query names — by `_id` of a Patient search, or by a reference to a
    /// Patient, also inside a chain — for the audit trail (``AuditTargets``).
    public var namedPatients: [String] {
        var patients: [String] = []
        func visit(_ clause: Clause, on type: ResourceType) {
            switch clause {
            case .id(let ids) where type == .patient: patients += ids
            case .reference(_, let values): patients += values.filter { $0.type == ResourceType.patient.rawValue }.map(\.id)
            case .chain(_, let target, let inner): visit(inner, on: target)
            case .reverseChain(let source, _, let inner): visit(inner, on: source)
            default: break
            }
        }
        for clause in self.clauses { visit(clause, on: self.type) }
        return patients
    }
}

public struct SearchResult: Sendable {
    public var resources: [StoredResource]
    /// Added by `_include` and `_revinclude` (each once, matches excluded).
    public var included: [StoredResource] = []
    /// Where the next page starts, if there is one.
    public var nextCursor: String?
    /// All matches, when asked for.
    public var total: Int?

    public init(resources: [StoredResource], included: [StoredResource] = [], nextCursor: String?, total: Int?) {
        self.resources = resources
        self.included = included
        self.nextCursor = nextCursor
        self.total = total
    }
}

extension SearchQuery {
    /// `a=1&b=x%20y` → [("a", "1"), ("b", "x y")]; `+` is a space (form encoding). An invalid
    /// percent-encoding (`%ZZ`, a cut-off `%4`, bytes that are not UTF-8) is refused with 400:
    /// taken as written it would search for something the client never meant.
    /// One component of a query, form-decoded: `+` is a space; nil for an invalid escape.
    public static func formDecoded(_ text: Substring) -> String? {
        String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    public static func parameters(inQuery text: String) throws(ResourceError) -> [(String, String)] {
        var parameters: [(String, String)] = []
        for (position, pair) in text.split(separator: "&").enumerated() {
            var parts: [String] = []
            for part in pair.split(separator: "=", maxSplits: 1) {
                guard let decoded = Self.formDecoded(part) else {
                    // The position, not the text: a query can hold a patient's particulars.
                    throw ResourceError(.invalid, .invalid, "parameter \(position + 1) of the query has an invalid percent-encoding")
                }
                parts.append(decoded)
            }
            guard let name = parts.first, !name.isEmpty else { continue }
            parameters.append((name, parts.count > 1 ? parts[1] : ""))
        }
        return parameters
    }
}
