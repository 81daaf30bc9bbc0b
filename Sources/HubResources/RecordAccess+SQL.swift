import HubFHIR
import HubStorage

/// The access policy as SQL: the one place the store turns a ``RecordAccess`` into conditions on
/// `resources` rows (docs/security.md).
extension RecordAccess {
    /// `resources` as this caller may see it, as a FROM item named `alias`: the one relation
    /// through which the store's reads reach rows — a read, a version, a history, a search and
    /// each hop of its chains, reverse includes, `$everything`, `$lastn`. A query built on it
    /// cannot leave the caller's access out; `StoreSQLTests` fails on any other mention of the
    /// table in those queries. PostgreSQL flattens the subquery: it plans as a plain join.
    func visibleResources(_ alias: String, sql: inout SQLBuilder) -> String {
        let row = alias + "_seen"
        return "(SELECT \(row).* FROM resources \(row) WHERE \(self.isVisible(row, sql: &sql))) \(alias)"
    }

    /// Whether the `resources` row aliased `r` is visible to the caller, as an SQL expression:
    /// for writes, which must know what they may change rather than filter it away.
    func isVisible(_ r: String, sql: inout SQLBuilder) -> String {
        var conditions: [String] = []
        if let types = self.readableTypes {
            conditions.append("\(r).type = ANY(\(sql.bind(types.map(\.rawValue).sorted())))")
        }
        if case .organization(let organization, let emergencyPatient) = self.rule {
            let o = sql.bind(organization)
            let patient = "\(r).patient_id"
            let emergency = emergencyPatient.map { " OR \(patient) = \(sql.bind($0))" } ?? ""
            let rules = "SELECT 1 FROM consent_rules k WHERE k.patient_id = \(patient) AND k.period @> now()"
            // Later than the permit; at the same instant, a denial of another Consent wins (within
            // one Consent, "deny everyone, permit O" keeps its exception).
            let laterDenial = "(d.recorded_at > k.recorded_at OR (d.recorded_at = k.recorded_at AND d.consent_id <> k.consent_id))"
            // A denial that names O, or everyone.
            let denials = """
                SELECT 1 FROM consent_rules d WHERE d.patient_id = \(patient) AND d.period @> now() AND NOT d.permit
                  AND (d.organization_id = \(o) OR d.organization_id IS NULL)
                """
            let privateTypes = sql.bind(Self.privateTypes)
            let outside = "(\(patient) IS NULL AND \(r).type <> ALL(\(privateTypes)))"
            // A private type is its writer's alone, whatever patient a row names (none should).
            conditions.append("(\(r).type <> ALL(\(privateTypes)) OR \(r).organization = \(o))")
            conditions.append(
                """
                (\(outside) OR \(r).organization = \(o)\(emergency)
                  OR EXISTS (SELECT 1 FROM resource_shares s WHERE s.type = \(r).type AND s.id = \(r).id AND s.organization_id = \(o))
                  OR EXISTS (\(rules) AND k.permit AND k.organization_id = \(o)
                      AND NOT EXISTS (\(denials) AND (\(laterDenial) OR (coalesce(k.recorded_by, \(o)) = \(o) AND d.recorded_by IS DISTINCT FROM \(o)))))
                  OR (EXISTS (SELECT 1 FROM care_relationships c WHERE c.patient_id = \(patient) AND c.organization_id = \(o))
                      AND (\(r).type = 'Patient'
                           OR NOT EXISTS (\(rules) AND NOT k.permit AND (k.organization_id = \(o) OR k.organization_id IS NULL)))))
                """
            )
        }
        if case .population(let organization, let grant) = self.rule {
            let o = sql.bind(organization)
            conditions.append(
                """
                EXISTS (SELECT 1 FROM population_export_grants g WHERE g.id = \(sql.bind(grant))::uuid AND g.organization_id = \(o)
                    AND g.revoked_at IS NULL AND g.approved_by IS NOT NULL AND g.period @> now())
                  AND (\(r).type <> ALL(\(sql.bind(Self.privateTypes))) OR \(r).organization = \(o))
                  AND \(Self.noDenial(of: o, r))
                """
            )
        }
        if case .deidentifiedRelease(let writer) = self.rule {
            conditions.append("\(r).type <> ALL(\(sql.bind(Self.privateTypes))) AND \(Self.noDenial(of: nil, r))")
            if let writer { conditions.append("\(r).organization = \(sql.bind(writer))") }
        }
        return conditions.isEmpty ? "true" : conditions.joined(separator: " AND ")
    }

    /// Whether the row aliased `r` is outside every compartment, or its patient has no active
    /// Consent denying sharing with everyone — or with the organization bound as `organization`.
    private static func noDenial(of organization: String?, _ r: String) -> String {
        let whom = organization.map { "(d.organization_id = \($0) OR d.organization_id IS NULL)" } ?? "d.organization_id IS NULL"
        return """
            (\(r).patient_id IS NULL OR NOT EXISTS (SELECT 1 FROM consent_rules d WHERE d.patient_id = \(r).patient_id AND d.period @> now()
                AND NOT d.permit AND \(whom)))
            """
    }
}
