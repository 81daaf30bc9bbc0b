import Foundation

/// JSON Patch (RFC 6902) over ``JSONValue``, with JSON Pointers (RFC 6901).
///
/// All operations apply to a copy; if any fails, the document is unchanged (the caller gets an
/// error naming the operation).
public struct JSONPatch: Sendable {
    public struct PatchError: Error, Sendable, Equatable, CustomStringConvertible {
        /// The patch itself is malformed (HTTP 400), as opposed to not applying (HTTP 422).
        public var isMalformed: Bool
        public var message: String
        public var description: String { self.message }
    }

    enum Operation: Sendable {
        case add([String], JSONValue)
        case remove([String])
        case replace([String], JSONValue)
        case move(from: [String], to: [String])
        case copy(from: [String], to: [String])
        case test([String], JSONValue)
    }

    let operations: [Operation]

    public init(_ value: JSONValue) throws(PatchError) {
        guard let array = value.arrayValue else {
            throw PatchError(isMalformed: true, message: "a JSON Patch is an array of operations")
        }
        var operations: [Operation] = []
        for (index, element) in array.enumerated() {
            func malformed(_ message: String) -> PatchError {
                PatchError(isMalformed: true, message: "operation \(index): \(message)")
            }
            guard let object = element.objectValue, let op = object["op"]?.stringValue else { throw malformed("needs an \"op\"") }
            guard let pathText = object["path"]?.stringValue, let path = Self.pointer(pathText) else {
                throw malformed("needs a JSON Pointer \"path\"")
            }
            func value() throws(PatchError) -> JSONValue {
                guard let value = object["value"] else { throw malformed("\(op) needs a \"value\"") }
                return value
            }
            func from() throws(PatchError) -> [String] {
                guard let text = object["from"]?.stringValue, let pointer = Self.pointer(text) else { throw malformed("\(op) needs \"from\"") }
                return pointer
            }
            switch op {
            case "add": operations.append(.add(path, try value()))
            case "remove": operations.append(.remove(path))
            case "replace": operations.append(.replace(path, try value()))
            case "move": operations.append(.move(from: try from(), to: path))
            case "copy": operations.append(.copy(from: try from(), to: path))
            case "test": operations.append(.test(path, try value()))
            default: throw malformed("unknown op \(op)")
            }
        }
        self.operations = operations
    }

    /// `/a/b~1c/0` → ["a", "b/c", "0"]; "" is the whole document.
    static func pointer(_ text: String) -> [String]? {
        if text.isEmpty { return [] }
        guard text.hasPrefix("/") else { return nil }
        return text.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    public func apply(to document: JSONValue) throws(PatchError) -> JSONValue {
        var result = document
        for (index, operation) in self.operations.enumerated() {
            do throws(PatchError) {
                switch operation {
                case .add(let path, let value): result = try Self.add(value, at: path, in: result)
                case .remove(let path): result = try Self.remove(at: path, in: result).document
                case .replace(let path, let value):
                    result = try Self.add(value, at: path, in: try Self.remove(at: path, in: result).document, replacing: true)
                case .move(let from, let to):
                    let (removed, value) = try Self.remove(at: from, in: result)
                    result = try Self.add(value, at: to, in: removed)
                case .copy(let from, let to):
                    result = try Self.add(try Self.value(at: from, in: result), at: to, in: result)
                case .test(let path, let expected):
                    guard try Self.value(at: path, in: result) == expected else {
                        throw PatchError(isMalformed: false, message: "test failed")
                    }
                }
            } catch {
                throw PatchError(isMalformed: false, message: "operation \(index): \(error.message)")
            }
        }
        return result
    }

    static func value(at path: [String], in document: JSONValue) throws(PatchError) -> JSONValue {
        var current = document
        for token in path {
            switch current {
            case .object(let object):
                guard let next = object[token] else { throw PatchError(isMalformed: false, message: "no member \(token)") }
                current = next
            case .array(let values):
                guard let index = Int(token), values.indices.contains(index) else {
                    throw PatchError(isMalformed: false, message: "no element \(token)")
                }
                current = values[index]
            default:
                throw PatchError(isMalformed: false, message: "cannot descend into a \(current.kindName)")
            }
        }
        return current
    }

    static func add(_ value: JSONValue, at path: [String], in document: JSONValue, replacing: Bool = false) throws(PatchError) -> JSONValue {
        guard let token = path.first else { return value }
        let rest = Array(path.dropFirst())
        switch document {
        case .object(var object):
            if rest.isEmpty {
                object[token] = value
            } else {
                guard let child = object[token] else { throw PatchError(isMalformed: false, message: "no member \(token)") }
                object[token] = try Self.add(value, at: rest, in: child, replacing: replacing)
            }
            return .object(object)
        case .array(var values):
            if rest.isEmpty {
                if token == "-" && !replacing {
                    values.append(value)
                } else {
                    guard let index = Int(token), index >= 0, index <= values.count else {
                        throw PatchError(isMalformed: false, message: "index \(token) out of range")
                    }
                    values.insert(value, at: index)
                }
            } else {
                guard let index = Int(token), values.indices.contains(index) else {
                    throw PatchError(isMalformed: false, message: "no element \(token)")
                }
                values[index] = try Self.add(value, at: rest, in: values[index], replacing: replacing)
            }
            return .array(values)
        default:
            throw PatchError(isMalformed: false, message: "cannot add into a \(document.kindName)")
        }
    }

    static func remove(at path: [String], in document: JSONValue) throws(PatchError) -> (document: JSONValue, removed: JSONValue) {
        guard let token = path.first else { throw PatchError(isMalformed: false, message: "cannot remove the whole document") }
        let rest = Array(path.dropFirst())
        switch document {
        case .object(var object):
            guard let child = object[token] else { throw PatchError(isMalformed: false, message: "no member \(token)") }
            if rest.isEmpty {
                object[token] = nil
                return (.object(object), child)
            }
            let (updated, removed) = try Self.remove(at: rest, in: child)
            object[token] = updated
            return (.object(object), removed)
        case .array(var values):
            guard let index = Int(token), values.indices.contains(index) else { throw PatchError(isMalformed: false, message: "no element \(token)") }
            if rest.isEmpty {
                let removed = values.remove(at: index)
                return (.array(values), removed)
            }
            let (updated, removed) = try Self.remove(at: rest, in: values[index])
            values[index] = updated
            return (.array(values), removed)
        default:
            throw PatchError(isMalformed: false, message: "cannot remove from a \(document.kindName)")
        }
    }
}
