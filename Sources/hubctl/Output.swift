import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// How hubctl writes: tables for people (aligned by display width, so 张伟 takes the four
/// columns a terminal gives it), JSON for programs, colour only on a terminal that wants it.
enum Output {
    /// Whether standard output is a terminal that takes colour (not with NO_COLOR or TERM=dumb).
    static let colours: Bool = {
        let environment = ProcessInfo.processInfo.environment
        return isatty(STDOUT_FILENO) != 0 && environment["NO_COLOR"] == nil && environment["TERM"] != "dumb"
    }()

    /// `text` in bold red, on a colour terminal.
    static func alert(_ text: String) -> String {
        Self.colours && !text.isEmpty ? "\u{1B}[1;31m\(text)\u{1B}[0m" : text
    }

    /// Prints `value` as JSON: sorted keys, indented, slashes as they are.
    static func json(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// A note for the person at the terminal (progress), on standard error, only if it is one.
    static func progress(_ text: String) {
        guard isatty(STDERR_FILENO) != 0 else { return }
        FileHandle.standardError.write(Data("\r\(text)\u{1B}[K".utf8))
    }

    static func endProgress() {
        guard isatty(STDERR_FILENO) != 0 else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }
}

/// A text table: a header row, then rows, columns padded to their widest cell.
struct Table {
    var headers: [String]
    var rows: [[String]] = []

    /// Columns a terminal gives `text`: East Asian wide and full-width characters take two,
    /// combining marks none (Unicode UAX #11, the ranges that occur in clinical text).
    static func displayWidth(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { width, scalar in
            switch scalar.value {
            case 0x0300...0x036F, 0x200B...0x200F, 0xFE00...0xFE0F: width
            case 0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
                0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x1F300...0x1F64F,
                0x20000...0x3FFFD:
                width + 2
            default: width + 1
            }
        }
    }

    /// `text` padded with spaces to `width` columns.
    static func pad(_ text: String, to width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - Self.displayWidth(text)))
    }

    /// The table as lines; `styles` may colour a cell after it is padded (padding counts the
    /// text, not the escape codes).
    func render(styling style: (_ row: Int, _ column: Int, _ padded: String) -> String = { _, _, text in text }) -> String {
        let widths = self.headers.indices.map { column in
            ([self.headers[column]] + self.rows.map { column < $0.count ? $0[column] : "" }).map(Self.displayWidth).max() ?? 0
        }
        func line(_ cells: [String], row: Int?) -> String {
            cells.enumerated().map { column, text in
                let padded = column == cells.count - 1 ? text : Self.pad(text, to: widths[column])
                return row.map { style($0, column, padded) } ?? padded
            }.joined(separator: "  ")
        }
        var lines = [line(self.headers, row: nil)]
        lines.append(widths.map { String(repeating: "─", count: $0) }.joined(separator: "  "))
        for (index, row) in self.rows.enumerated() { lines.append(line(row, row: index)) }
        return lines.joined(separator: "\n")
    }
}
