public import HubFHIR

/// How an export walks its types: one type after the other, each in id order, a page at a time,
/// each page a part of the type's current file. A state machine without I/O: the runner asks
/// ``step(at:)`` what to read, reads it, commits the page with ``advance(_:read:lastID:)``'s
/// cursor in the same transaction — so a job resumed by another runner after a crash starts
/// exactly after the last committed page, and no resource is written twice or skipped.
public struct ExportPlan: Sendable, Equatable {
    /// Where a job is.
    public struct Cursor: Sendable, Equatable {
        /// The type being read (an index into ``ExportPlan/types``); past the end when done.
        public var typeIndex: Int
        /// The last id read of that type; nil before its first page.
        public var afterID: String?
        /// The file the next page goes into (1, 2, … per type).
        public var file: Int
        /// Resources already in that file.
        public var inFile: Int
        /// The next page's number within the file (1, 2, …).
        public var part: Int

        public static let start = Cursor(typeIndex: 0, afterID: nil, file: 1, inFile: 0, part: 1)

        public init(typeIndex: Int, afterID: String?, file: Int, inFile: Int, part: Int) {
            self.typeIndex = typeIndex
            self.afterID = afterID
            self.file = file
            self.inFile = inFile
            self.part = part
        }
    }

    /// What to do next.
    public enum Step: Sendable, Equatable {
        /// Read up to `count` resources of `type` after `afterID`, into part `part` of file `file`.
        case read(ResourceType, afterID: String?, count: Int, file: Int, part: Int)
        /// Every type has been read: the job is complete.
        case finished
    }

    /// Resources per page (one database read, one sealed part).
    public static let defaultPageSize = 1_000
    /// Resources per file (IG v2 lets a server split a type's output over several files).
    public static let defaultFileSize = 50_000

    public let types: [ResourceType]
    public let pageSize: Int
    public let fileSize: Int

    public init(types: [ResourceType], pageSize: Int = Self.defaultPageSize, fileSize: Int = Self.defaultFileSize) {
        self.types = types
        self.pageSize = max(1, pageSize)
        self.fileSize = max(1, fileSize)
    }

    public func step(at cursor: Cursor) -> Step {
        guard cursor.typeIndex >= 0, cursor.typeIndex < self.types.count else { return .finished }
        // A page never crosses a file's bound, so no file exceeds fileSize.
        let count = min(self.pageSize, self.fileSize - cursor.inFile)
        return .read(self.types[cursor.typeIndex], afterID: cursor.afterID, count: count, file: cursor.file, part: cursor.part)
    }

    /// The cursor after a page of `read` resources, the last `lastID`, was read at `cursor`. A
    /// page shorter than asked ends its type.
    public func advance(_ cursor: Cursor, read: Int, lastID: String?) -> Cursor {
        guard case .read(_, _, let count, _, _) = self.step(at: cursor) else { return cursor }
        guard read >= count, let lastID else {
            return Cursor(typeIndex: cursor.typeIndex + 1, afterID: nil, file: 1, inFile: 0, part: 1)
        }
        let inFile = cursor.inFile + read
        if inFile >= self.fileSize {
            return Cursor(typeIndex: cursor.typeIndex, afterID: lastID, file: cursor.file + 1, inFile: 0, part: 1)
        }
        return Cursor(typeIndex: cursor.typeIndex, afterID: lastID, file: cursor.file, inFile: inFile, part: cursor.part + 1)
    }

    /// How far a job at `cursor` is, for `X-Progress`: the types done of all.
    public func progress(at cursor: Cursor, exported: Int) -> String {
        let done = min(max(cursor.typeIndex, 0), self.types.count)
        return "\(done) of \(self.types.count) types, \(exported) resources"
    }
}
