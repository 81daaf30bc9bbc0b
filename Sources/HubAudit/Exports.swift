// The PostgreSQL half of the audit trail works on the pure half's types; its users get both.
@_exported public import HubAuditCore
