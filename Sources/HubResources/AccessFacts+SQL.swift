import Foundation
import HubFHIR
import HubStorage

/// The facts a write establishes, as `WITH` members of the write's one statement.
extension AccessFacts {
    /// `WITH` members inserting the facts of `facts`.
    static func insertions(_ facts: [AccessFacts], sql: inout SQLBuilder) -> [String] {
        var members: [String] = []
        let care = facts.compactMap(\.care)
        if !care.isEmpty {
            members.append(
                """
                care AS (INSERT INTO care_relationships (patient_id, organization_id, basis)
                SELECT DISTINCT p, o, b FROM unnest(\(sql.bind(care.map(\.patient)))::text[], \(sql.bind(care.map(\.organization)))::text[], \(sql.bind(care.map(\.basis)))::text[]) AS w(p, o, b)
                ON CONFLICT DO NOTHING)
                """
            )
        }
        var booked: (patients: [String], slots: [String], bases: [String]) = ([], [], [])
        for fact in facts {
            guard let (patient, slots) = fact.bookedSlots else { continue }
            for slot in slots {
                booked.patients.append(patient)
                booked.slots.append(slot)
                booked.bases.append(fact.source)
            }
        }
        if !booked.slots.isEmpty {
            members.append(
                """
                care_slots AS (INSERT INTO care_relationships (patient_id, organization_id, basis)
                SELECT DISTINCT w.p, s.organization, w.b FROM unnest(\(sql.bind(booked.patients))::text[], \(sql.bind(booked.slots))::text[], \(sql.bind(booked.bases))::text[]) AS w(p, s, b)
                JOIN resources s ON s.type = 'Slot' AND s.id = w.s AND s.organization IS NOT NULL
                ON CONFLICT DO NOTHING)
                """
            )
        }
        let shares = facts.flatMap { fact in fact.shares.map { (fact.source, $0) } }
        if !shares.isEmpty {
            members.append(
                """
                shares AS (INSERT INTO resource_shares (type, id, organization_id, basis)
                SELECT DISTINCT t, i, o, b FROM unnest(\(sql.bind(shares.map(\.1.type)))::text[], \(sql.bind(shares.map(\.1.id)))::text[], \(sql.bind(shares.map(\.1.organization)))::text[], \(sql.bind(shares.map(\.0)))::text[]) AS w(t, i, o, b)
                ON CONFLICT DO NOTHING)
                """
            )
        }
        var consents:
            (
                ids: [String], patients: [String], organizations: [String], permits: [Bool], starts: [String], ends: [String], recorders: [String],
                times: [String]
            ) =
                ([], [], [], [], [], [], [], [])
        for fact in facts {
            for rule in fact.consentRules {
                consents.ids.append(String(fact.source.dropFirst("Consent/".count)))
                consents.recorders.append(fact.consentRecorder ?? "")
                consents.patients.append(rule.patient)
                consents.organizations.append(rule.organization ?? "")
                consents.permits.append(rule.permit)
                consents.starts.append(rule.start.map { $0.formatted(.iso8601) } ?? "")
                consents.ends.append(rule.end.map { $0.formatted(.iso8601) } ?? "")
                consents.times.append(rule.recordedAt.map { UTCTime($0).instant } ?? "")
            }
        }
        if !consents.ids.isEmpty {
            members.append(
                """
                consent AS (INSERT INTO consent_rules (consent_id, patient_id, organization_id, permit, period, recorded_by, recorded_at)
                SELECT c, p, NULLIF(o, ''), k, tstzrange(NULLIF(s, '')::timestamptz, NULLIF(e, '')::timestamptz, '[)'), NULLIF(r, ''), COALESCE(NULLIF(t, '')::timestamptz, now())
                FROM unnest(\(sql.bind(consents.ids))::text[], \(sql.bind(consents.patients))::text[], \(sql.bind(consents.organizations))::text[], \(sql.bind(consents.permits))::boolean[], \(sql.bind(consents.starts))::text[], \(sql.bind(consents.ends))::text[], \(sql.bind(consents.recorders))::text[], \(sql.bind(consents.times))::text[]) AS w(c, p, o, k, s, e, r, t))
                """
            )
        }
        return members
    }

    /// `WITH` members removing the facts earlier versions of `sources` (`Type/id`) established.
    static func removals(_ sources: [String], sql: inout SQLBuilder) -> [String] {
        let list = sql.bind(sources)
        let consents = sql.bind(sources.filter { $0.hasPrefix("Consent/") }.map { String($0.dropFirst("Consent/".count)) })
        return [
            "uncare AS (DELETE FROM care_relationships WHERE basis = ANY(\(list)))",
            "unconsent AS (DELETE FROM consent_rules WHERE consent_id = ANY(\(consents)))",
            "unshare AS (DELETE FROM resource_shares WHERE basis = ANY(\(list)))",
        ]
    }
}
