// Access control raises the credentials module's errors; its users get both.
@_exported public import HubCredentials
