/// Whose records a bulk export page reads, before the caller's access narrows them.
public enum ExportPatients: Sendable, Equatable {
    /// Every record (a system-level export).
    case all
    /// Records filed under some patient, the Patients among them (a Patient-level export).
    case filed
    /// Records filed under one of these patients (a Group-level export: the Group's members).
    case among([String])
}
