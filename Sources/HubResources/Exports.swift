// The PostgreSQL store implements the pure record model's seams; its users get both.
@_exported public import HubResourcesCore
