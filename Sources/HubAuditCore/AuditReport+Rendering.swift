import Foundation

extension AuditReport {
    /// The figures as CSV (RFC 4180): one row per figure — section, key, and its values — for
    /// spreadsheets. The signed JSON stays the authoritative form.
    public func csv() -> String {
        var rows: [[String]] = [["section", "key", "total", "reads", "writes", "denied", "detail"]]
        // What the figures are of, so that a file (signed or not) says which report it is.
        let p = self.body.parameters
        let scope: [(String, String?)] = [
            ("from", AuditReportParameters.instant(p.from)), ("to", AuditReportParameters.instant(p.to)), ("organization", p.organization),
            ("user", p.user), ("patient", p.patient), ("generated", self.body.generatedAt),
            ("records", "\(self.body.start)..<\(self.body.start + self.body.count)"),
            ("checkpoint", self.body.checkpoint.split(separator: "\n").prefix(3).joined(separator: " ")),
        ]
        for case (let key, let value?) in scope {
            rows.append(["report", key, "", "", "", "", value])
        }
        let s = self.body.sections
        rows.append(["total", "", String(s.total), "", "", "", ""])
        rows.append(["after-hours", "", String(s.afterHours), "", "", "", "outside 08:00-18:00 on weekdays, China Standard Time"])
        for count in s.byOrganization {
            rows.append(["organization", count.key, String(count.total), String(count.reads), String(count.writes), String(count.denied), ""])
        }
        for count in s.byAction {
            rows.append(["action", count.key, String(count.total), String(count.reads), String(count.writes), String(count.denied), ""])
        }
        for user in s.byUser {
            rows.append([
                "user", user.user, String(user.total), "", "", "",
                "organization=\(user.organization); distinct patients=\(user.distinctPatients); after hours=\(user.afterHours)",
            ])
        }
        for bucket in s.overTime {
            rows.append([
                "over-time", bucket.start, String(bucket.reads + bucket.writes + bucket.denied), String(bucket.reads), String(bucket.writes),
                String(bucket.denied), "",
            ])
        }
        for outlier in s.unusualUsers {
            rows.append([
                "unusual-user", outlier.user, String(outlier.distinctPatients), "", "", "",
                "organization=\(outlier.organization); peer median=\(outlier.peerMedian)",
            ])
        }
        let accesses = [
            ("denied", s.denied), ("break-glass", s.breakGlass), ("patient-access", s.patientAccesses ?? []),
            ("read-without-relationship", self.body.readsWithoutRelationship ?? []),
        ]
        for (section, list) in accesses {
            for access in list {
                let detail = [
                    "time=\(access.time)", "organization=\(access.organization)", "action=\(access.action) \(access.interaction)",
                    "result=\(access.result)",
                    access.patient.map { "patient=\($0)" }, access.reason.map { "reason=\($0)" },
                    access.entities.isEmpty ? nil : "returned=\(access.entities.joined(separator: " "))",
                ].compactMap { $0 }.joined(separator: "; ")
                rows.append([section, access.user, "1", "", "", "", detail])
            }
        }
        return rows.map { $0.map(Self.csvField).joined(separator: ",") }.joined(separator: "\r\n") + "\r\n"
    }

    static func csvField(_ text: String) -> String {
        // A leading =, +, - or @ would be a formula to a spreadsheet: quoted with a leading '.
        let guarded = ["=", "+", "-", "@"].contains(where: text.hasPrefix) && Double(text) == nil ? "'" + text : text
        guard guarded.contains(where: { [",", "\"", "\n", "\r"].contains($0) }) || guarded != text else { return guarded }
        return "\"" + guarded.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// The report as one self-contained HTML page (no scripts, no external resources; charts
    /// are inline SVG), for reading offline in a browser. Verification uses the JSON.
    public func html() -> String {
        let s = self.body.sections
        let p = self.body.parameters
        func e(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        func table(_ headers: [String], _ rows: [[String]]) -> String {
            guard !rows.isEmpty else { return "<p class=\"none\">None.</p>" }
            let head = headers.map { "<th>\(e($0))</th>" }.joined()
            let body = rows.map { "<tr>" + $0.map { "<td>\(e($0))</td>" }.joined() + "</tr>" }.joined(separator: "\n")
            return "<table><thead><tr>\(head)</tr></thead><tbody>\n\(body)\n</tbody></table>"
        }
        /// Horizontal bars: reads, writes, denied stacked, labelled.
        func bars(_ items: [(String, Int, Int, Int)]) -> String {
            guard let largest = items.map({ $0.1 + $0.2 + $0.3 }).max(), largest > 0 else { return "<p class=\"none\">None.</p>" }
            let rowHeight = 22
            let labelWidth = 220
            let width = 420
            var svg =
                "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" width=\"\(labelWidth + width + 80)\" height=\"\(items.count * rowHeight + 10)\">"
            for (row, item) in items.enumerated() {
                let y = row * rowHeight + 5
                svg += "<text x=\"0\" y=\"\(y + 15)\" class=\"label\">\(e(item.0))</text>"
                var x = labelWidth
                for (value, kind) in [(item.1, "read"), (item.2, "write"), (item.3, "denied")] where value > 0 {
                    let w = max(1, value * width / largest)
                    svg += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(w)\" height=\"16\" class=\"\(kind)\"><title>\(kind): \(value)</title></rect>"
                    x += w
                }
                svg += "<text x=\"\(x + 6)\" y=\"\(y + 13)\" class=\"value\">\(item.1 + item.2 + item.3)</text>"
            }
            return svg + "</svg>"
        }
        func accesses(_ list: [AuditReportSections.Access], reason: Bool = false) -> String {
            table(
                ["#", "time", "organization", "user", "action", "result", "patient"] + (reason ? ["reason"] : []) + ["returned"],
                list.map { a in
                    [String(a.index), a.time, a.organization, a.user, "\(a.action) \(a.interaction)", a.result, a.patient ?? ""]
                        + (reason ? [a.reason ?? ""] : []) + [a.entities.joined(separator: " ")]
                }
            )
        }
        let scope = [p.organization.map { "organization \($0)" }, p.user.map { "user \($0)" }, p.patient.map { "patient \($0)" }].compactMap { $0 }
        var page = """
            <!DOCTYPE html>
            <html lang="zh-CN"><head><meta charset="utf-8"><title>审计报告 Audit report \(e(AuditReportParameters.instant(p.from))) – \(e(AuditReportParameters.instant(p.to)))</title>
            <style>
            body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:2em;color:#222;max-width:72em}
            h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}
            table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ddd;padding:.25em .5em;text-align:left}
            .read{fill:#4a7ab5}.write{fill:#5aa469}.denied{fill:#c0392b}.label,.value{font-size:12px;fill:#222}
            .none{color:#777}pre{white-space:pre-wrap;word-break:break-all}.legend span{display:inline-block;width:.9em;height:.9em;margin:0 .3em 0 1em;vertical-align:middle}.meta{color:#555;font-size:.9em}.finding{color:#c0392b;font-weight:bold}
            </style></head><body>
            <h1>审计报告 Audit report</h1>
            <p class="meta">Period \(e(AuditReportParameters.instant(p.from))) to \(e(AuditReportParameters.instant(p.to)))\(scope.isEmpty ? "" : " — " + e(scope.joined(separator: ", "))).
            Generated \(e(self.body.generatedAt)) from audit records \(self.body.start)..<\(self.body.start + self.body.count) of the signed checkpoint below.
            Verify the JSON form with <code>hubctl audit verify report.json --keys hub-keys.json</code>; this page is for reading.</p>
            <p><strong>\(s.total)</strong> accesses; <strong>\(s.denied.count)</strong> denied; <strong>\(s.breakGlass.count)</strong> under break-glass; <strong>\(s.afterHours)</strong> after hours.</p>
            <p class="legend"><span style="background:#4a7ab5"></span>reads<span style="background:#5aa469"></span>writes<span style="background:#c0392b"></span>denied (login, forbidden)</p>
            <h2>Accesses over time (China Standard Time)</h2>
            \(bars(s.overTime.map { ($0.start, $0.reads, $0.writes, $0.denied) }))
            <h2>By organization</h2>
            \(bars(s.byOrganization.map { ($0.key, $0.reads, $0.writes, $0.denied) }))
            <h2>By action</h2>
            \(bars(s.byAction.map { ($0.key, $0.reads, $0.writes, $0.denied) }))
            <h2>By user</h2>
            \(table(["user", "organization", "accesses", "distinct patients", "after hours"], s.byUser.map { [$0.user, $0.organization, String($0.total), String($0.distinctPatients), String($0.afterHours)] }))
            <h2>Denied attempts</h2>
            \(accesses(s.denied))
            <h2>Break-glass</h2>
            \(accesses(s.breakGlass, reason: true))
            <h2>Users with unusually many patients</h2>
            \(s.unusualUsers.isEmpty ? "<p class=\"none\">None.</p>" : "<p class=\"finding\">Review:</p>" + table(["user", "organization", "distinct patients", "peer median"], s.unusualUsers.map { [$0.user, $0.organization, String($0.distinctPatients), String($0.peerMedian)] }))

            """
        if let list = self.body.readsWithoutRelationship {
            page += "<h2>Reads without a care relationship</h2>\n"
            page +=
                list.isEmpty
                ? "<p class=\"none\">None (as there should be).</p>\n"
                : "<p class=\"finding\">Finding: reads that no care relationship, consent, share or emergency explains.</p>\n\(accesses(list))\n"
        }
        if let list = s.patientAccesses {
            page += "<h2>Who saw this patient's record</h2>\n\(accesses(list, reason: true))\n"
        }
        page += "<h2>Signed checkpoint</h2>\n<pre>\(e(self.body.checkpoint))</pre>\n</body></html>\n"
        return page
    }
}
